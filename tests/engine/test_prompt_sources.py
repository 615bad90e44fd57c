"""Which of the prompt's tokens the person typed (the rest is the chat template), and what speculative decoding
records from it: where each prompt-lookup draft was found, and which draft tokens the target never tested."""

import copy

import pytest

from playground.engine.context import render_prompt
from playground.engine.speculative import math as sm
from playground.models import load_model
from playground.settings import Settings
from tests.helpers import run
from tests.tiny import save_tiny_model

PROMPT = "the cat sat on the mat and the cat"


def test_the_typed_text_is_found_among_the_templates_tokens(tiny_tokenizer):
    rendered, ids, typed = render_prompt(tiny_tokenizer, "hi", True)
    assert rendered == "<bos>user: hi\n<bos>assistant: "
    assert typed == (7, 9) and tiny_tokenizer.decode(ids[typed[0] : typed[1]]) == "hi"  # after "<bos>user: "
    assert render_prompt(tiny_tokenizer, "hi", False).typed == (0, 2)  # no template: all of it was typed


def test_a_typed_control_token_stays_text_and_inside_the_typed_span(tiny_tokenizer):
    _, ids, typed = render_prompt(tiny_tokenizer, "a<eos>b", True)
    assert typed == (7, 14)  # seven characters, "<eos>" spelled out
    assert tiny_tokenizer.decode(ids[typed[0] : typed[1]]) == "a<eos>b"


def test_a_template_that_trims_the_text_still_places_it(tiny_tokenizer):
    trimming = copy.deepcopy(tiny_tokenizer)
    trimming.chat_template = tiny_tokenizer.chat_template.replace("m['content']", "m['content'] | trim")
    rendered, _, typed = render_prompt(trimming, "  hi  ", True)
    assert rendered == "<bos>user: hi\n<bos>assistant: " and typed == (7, 9)


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_tokenizer):
    base = tmp_path_factory.mktemp("sources")
    target = save_tiny_model(base / "target", tiny_tokenizer, seed=0, eos_boost=1.0)
    other = save_tiny_model(base / "other", tiny_tokenizer, seed=5, eos_boost=1.0, sharpen=30.0)
    return load_model(target, "fp32"), other


def test_speculative_sampling_records_the_tokens_after_a_rejection_as_never_tested(models):
    target, other = models
    settings = Settings(
        strategy="speculative", draft_model=other, draft_precision="fp32", do_sample=True, seed=3,
        num_draft_tokens=5, chat=False, max_new_tokens=40, min_new_tokens=40,
    )  # fmt: skip
    rounds = run(target, PROMPT, settings).speculative.rounds
    kept_by_round = [sum(t.accepted is True for t in r.proposed) for r in rounds]
    assert any(kept < len(r.proposed) - 1 for kept, r in zip(kept_by_round, rounds, strict=True)), (
        "some round should reject before its last draft token"
    )
    for kept, r in zip(kept_by_round, rounds, strict=True):
        assert [t.accepted for t in r.proposed] == [True] * kept + [False] * (kept < len(r.proposed)) + [None] * (
            len(r.proposed) - kept - 1
        )
        assert r.emitted.p > 0 and r.lookup is None  # a model draft copies nothing
        assert r.emitted.kind == ("bonus" if kept == len(r.proposed) else "resampled")


def test_prompt_lookup_records_where_it_found_each_draft(models, tiny_tokenizer):
    target, _ = models
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", num_draft_tokens=4, max_new_tokens=40)
    trace = run(target, PROMPT, settings.replace(min_new_tokens=40))
    _, ids, typed = render_prompt(tiny_tokenizer, PROMPT, True)
    text = ids + trace.output.token_ids
    for r in trace.speculative.rounds:  # each round's source, found again from the text it drafted after
        copied, at = sm.prompt_lookup(text[: len(ids) + r.start], 3, r.num_draft_tokens or 4)
        assert [t.id for t in r.proposed] == copied[: len(r.proposed)]
        assert r.lookup == (sm.lookup_source(at, len(ids), typed) if r.proposed else None)
    assert {"template", "prompt", "output"} <= {r.lookup for r in trace.speculative.rounds}
