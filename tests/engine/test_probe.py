"""The token probe against teacher-forced passes computed here, one whole text at a time, without a cache."""

import pytest
import torch

from playground.engine.compare import staged_scores
from playground.engine.probe import probe, probe_path, probe_tokens, step_values, word_logits
from playground.settings import Settings, SettingsError
from tests.helpers import run
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat on the mat and"
HOT = Settings(chat=False, max_new_tokens=9, strategy="sample", seed=3, temperature=1.3, top_k=20)


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)


def next_probs(loaded, ids: list[int], temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """(V,) the model's next-token distribution after `ids`, from a pass over them alone, as `HOT`'s stages
    would leave it (temperature, then top-k)."""
    with torch.no_grad():
        logits = loaded.model(torch.tensor([ids])).logits[0, -1].double() / temperature
    if top_k:
        logits[logits < torch.topk(logits, top_k).values[-1]] = -torch.inf
    return torch.softmax(logits, dim=-1)


def test_a_token_probed_has_its_probability_and_rank_at_every_stage(tiny):
    trace = run(tiny, PROMPT, HOT)
    prompt, tokens = trace.prompt.token_ids, trace.output.token_ids
    word = tiny.tokenizer.encode("q", add_special_tokens=False)
    rows = probe_path(tiny, HOT, prompt, tokens, word)
    assert len(rows) == len(tokens) == 9
    for i, row in enumerate(rows):
        raw = next_probs(tiny, prompt + tokens[:i])
        final = next_probs(tiny, prompt + tokens[:i], 1.3, 20)
        assert row.probs["raw"] == pytest.approx(float(raw[word[0]]), abs=1e-6)
        assert row.probs[list(row.probs)[-1]] == pytest.approx(float(final[word[0]]), abs=1e-6)
        assert row.ranks["raw"] == int((raw > raw[word[0]]).sum()) + 1
        assert row.chosen_prob == pytest.approx(float(final[tokens[i]]), abs=1e-6)
        assert row.chosen_prob == pytest.approx(trace.steps[i].chosen.prob, abs=1e-5)
        assert row.word_probs is None


def test_a_word_of_several_tokens_has_the_chain_rule_probability_from_separate_passes(tiny):
    trace = run(tiny, PROMPT, HOT)
    prompt, tokens = trace.prompt.token_ids, trace.output.token_ids
    word = tiny.tokenizer.encode("dog", add_special_tokens=False)
    assert len(word) == 3
    rows = probe_path(tiny, HOT, prompt, tokens, word)
    for i, row in enumerate(rows):
        prefix = prompt + tokens[:i]
        raw = [next_probs(tiny, prefix + word[:j])[word[j]] for j in range(3)]
        final = [next_probs(tiny, prefix + word[:j], 1.3, 20)[word[j]] for j in range(3)]
        assert row.word_probs["raw"] == pytest.approx(float(raw[0] * raw[1] * raw[2]), rel=1e-5, abs=1e-12)
        final_word = row.word_probs[list(row.word_probs)[-1]]
        assert final_word == pytest.approx(float(final[0] * final[1] * final[2]), rel=1e-5, abs=1e-12)
        assert row.probs["raw"] == pytest.approx(float(raw[0]), abs=1e-6)


def test_the_word_branches_are_what_separate_passes_give_across_pass_boundaries(tiny, monkeypatch):
    monkeypatch.setattr("playground.engine.probe.BRANCHES", 2)  # four passes for seven steps
    prompt, tokens, word = [5, 6, 7], [8, 9, 10, 11, 12, 13, 14], [20, 21, 22]
    logits = word_logits(tiny.model, prompt, tokens, word)  # (7, 2, V)
    assert logits.shape[:2] == (7, 2)
    for i in range(7):
        for j in range(2):
            with torch.no_grad():
                alone = tiny.model(torch.tensor([prompt + tokens[:i] + word[: j + 1]])).logits[0, -1]
            torch.testing.assert_close(logits[i, j], alone, atol=1e-5, rtol=1e-5)


def test_the_embedded_model_probed_matches_a_teacher_forced_pass(bundled_fp32):
    settings = Settings(max_new_tokens=6, temperature=0.7, strategy="sample", seed=1, top_k=0, top_p=1.0)
    trace = run(bundled_fp32, "Name a colour.", settings)
    prompt, tokens = trace.prompt.token_ids, trace.output.token_ids
    found = probe(bundled_fp32, settings, prompt, tokens, "Blueberry")
    assert found.form == " Blueberry" and len(found.token_ids) >= 2
    word = found.token_ids
    with torch.no_grad():
        whole = bundled_fp32.model(torch.tensor([prompt + tokens])).logits[0].double()
    for i, row in enumerate(found.steps):
        p = torch.softmax(whole[len(prompt) + i - 1] / 0.7, dim=-1)
        assert row.probs["temperature"] == pytest.approx(float(p[word[0]]), rel=1e-4, abs=1e-9)
        chain = 1.0
        for j in range(len(word)):
            chain *= float(next_probs(bundled_fp32, prompt + tokens[:i] + word[:j], 0.7)[word[j]])
        assert row.word_probs["temperature"] == pytest.approx(chain, rel=1e-3, abs=1e-15)


def test_a_query_is_a_token_id_or_a_word_after_a_space(tiny_tokenizer):
    assert probe_tokens(tiny_tokenizer, "12") == (
        tiny_tokenizer.decode([12]),
        [12],
        f"token id 12 ({tiny_tokenizer.decode([12])!r})",
    )
    form, ids, note = probe_tokens(tiny_tokenizer, "ab")
    assert form == " ab" and ids == tiny_tokenizer.encode(" ab", add_special_tokens=False)
    assert note == "probed ' ab' (3 tokens); 'ab' would be 2 tokens"
    assert probe_tokens(tiny_tokenizer, "ab", space=False)[:2] == ("ab", tiny_tokenizer.encode("ab"))
    for bad in ("", "   ", "99999", "abcdefghij"):
        with pytest.raises(SettingsError):
            probe_tokens(tiny_tokenizer, bad)


def test_step_values_on_hand_built_scores():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    staged = [("raw", scores), ("top_k", torch.tensor([[0.0, 0.0, -torch.inf]]))]
    rest = [("raw", torch.log(torch.tensor([[0.1, 0.6, 0.3]]))), ("top_k", torch.log(torch.tensor([[0.5, 0.5, 0.0]])))]
    values = step_values(staged, rest, [1, 1], token=0).tolist()  # ranks count only tokens strictly above (ties share)
    assert values == pytest.approx([0.3, 0.5, 2, 1, 0.5, 0.3 * 0.6, 0.5 * 0.5])


@pytest.mark.parametrize(
    "changes",
    [
        dict(repetition_penalty=1.5, top_k=15),  # a stage that reads the past: each later token's own past
        dict(dry_multiplier=0.8, no_repeat_ngram_size=2),
        dict(xtc_probability=0.5, xtc_threshold=0.02),  # a random stage: the mixture it samples from
    ],
)
def test_later_tokens_are_scored_by_the_stages_with_their_own_past(tiny, changes):
    settings = HOT.replace(**changes)
    trace = run(tiny, "the cat sat on the cat and the", settings)
    prompt, tokens = trace.prompt.token_ids, trace.output.token_ids
    word = tiny.tokenizer.encode("the", add_special_tokens=False)
    rows = probe_path(tiny, settings, prompt, tokens, word)
    for i, row in enumerate(rows):
        # Independently: the word read by teacher forcing after step i's prefix, its final probability at each token.
        path = tokens[:i] + word
        finals = [torch.softmax(s[-1][1].double(), -1)[0] for (s,) in staged_scores(tiny, [settings], prompt, path)]
        chain = torch.prod(torch.stack([finals[i + j][w] for j, w in enumerate(word)]))
        assert row.word_probs[list(row.word_probs)[-1]] == pytest.approx(float(chain), rel=1e-5, abs=1e-12)


def test_a_run_without_tokens_has_nothing_to_probe(tiny):
    assert probe_path(tiny, HOT, [5, 6, 7], [], [20, 21]) == []
