"""Speculative decoding on the bundled model: greedy output equals plain greedy in fp32, with a model draft
(the same weights in bf16, which disagrees in places) and with prompt lookup."""

import pytest

from playground.settings import Settings
from tests.helpers import run as generate

pytestmark = pytest.mark.integration

PROMPTS = [
    "Repeat this sentence twice: the quick brown fox jumps over the lazy dog.",
    "Write a short story about a robot.",
]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize(
    "draft",
    [
        dict(draft_model=None, draft_precision="bf16"),
        dict(draft_model="prompt-lookup"),
        dict(draft_model=None, draft_schedule="adaptive"),
        dict(draft_model="auto"),
    ],
    ids=str,
)
def test_fp32_greedy_speculative_equals_plain_greedy(bundled_fp32, prompt, draft):
    plain = generate(bundled_fp32, prompt, Settings(max_new_tokens=48))
    trace = generate(bundled_fp32, prompt, Settings(strategy="speculative", max_new_tokens=48, **draft))
    assert trace.output.token_ids == plain.output.token_ids
    spec = trace.speculative
    assert spec.target_calls == len(spec.rounds) <= len(trace.output.token_ids)


def test_sampling_with_a_model_draft_is_seeded_and_reports_rounds(bundled_fp32):
    settings = Settings(
        strategy="speculative", draft_model=None, do_sample=True, seed=7, temperature=0.8, max_new_tokens=32
    )
    first = generate(bundled_fp32, "Describe a cat.", settings)
    again = generate(bundled_fp32, "Describe a cat.", settings)
    assert first.output.token_ids == again.output.token_ids
    rounds = first.speculative.rounds
    assert all(0.0 <= r.alpha <= 1.0 and 1.0 <= r.expected_tokens <= r.num_draft_tokens + 1 for r in rounds)
    assert 0.0 < first.speculative.acceptance_rate <= 1.0


@pytest.mark.parametrize("prompt", [*PROMPTS, "Explain how a rainbow forms."])
def test_fp32_greedy_with_the_shipped_medusa_heads_equals_plain_greedy(bundled_fp32, prompt):
    plain = generate(bundled_fp32, prompt, Settings(max_new_tokens=48))
    settings = Settings(strategy="speculative", draft_model="medusa", tree_size=16, max_new_tokens=48)
    trace = generate(bundled_fp32, prompt, settings)
    assert trace.output.token_ids == plain.output.token_ids
    spec = trace.speculative
    assert spec.draft.source == "medusa" and spec.draft.id == "smollm2-135m-instruct.safetensors"
    # The heads guess right often enough that a pass emits more than one token on average.
    assert spec.target_calls < len(trace.output.token_ids) and spec.tokens_per_round > 1.1


def test_medusa_sampling_is_seeded_and_lossless_kinds_only(bundled_nf4):
    settings = Settings(strategy="speculative", draft_model="medusa", do_sample=True, seed=3, temperature=0.7,
                        max_new_tokens=32)  # fmt: skip
    first = generate(bundled_nf4, "Describe a cat.", settings)
    assert generate(bundled_nf4, "Describe a cat.", settings).output.token_ids == first.output.token_ids
    assert {r.emitted.kind for r in first.speculative.rounds} <= {"bonus", "resampled"}
    assert all(r.tree and r.tree[0].accepted for r in first.speculative.rounds)
