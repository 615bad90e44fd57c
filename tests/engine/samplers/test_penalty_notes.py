"""What DRY notes at each step of a run, against a brute-force search of the context for each penalized token's
longest repeat, and the step view's marks for DRY and the presence/frequency penalty, whose counts the test
makes from the context itself; the notes survive export and import and a branch."""

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.engine.samplers.dry import NOTED, breaker_token_ids, repeat_spans
from playground.plots.context_marks import context_ids
from playground.plots.distributions import stage_figure
from playground.settings import DRY_SEQUENCE_BREAKERS, Limits, Settings
from playground.trace import Trace
from tests.engine.samplers.test_dry import BREAKER, brute_lengths, contexts

WHOLE = dataclasses.replace(Limits(), max_top_n=128)  # the tiny vocabulary's 101 tokens all recorded
LOOP = "abcabcabcab"  # "ab" was followed by "c" three times: every step starts inside a repeat
DRY = dict(
    chat=False, dry_multiplier=0.8, dry_allowed_length=2, max_new_tokens=8, min_new_tokens=8, top_n=128, limits=WHOLE
)


@given(contexts, st.booleans())
def test_each_span_starts_where_the_suffix_occurred_before_that_token(context, with_breaker):
    breakers = frozenset({BREAKER}) if with_breaker else frozenset()
    spans = repeat_spans(context, breakers)
    assert {t: length for t, (length, _) in spans.items()} == brute_lengths(context, breakers)
    for token, (length, start) in spans.items():
        assert context[start : start + length] == context[len(context) - length :]
        assert context[start + length] == token


def check_dry_note(trace: Trace, index: int, breakers: frozenset[int]) -> None:
    step, context = trace.steps[index], context_ids(trace, index)
    lengths = brute_lengths(context, breakers)
    penalized = {t: n for t, n in lengths.items() if n >= 2 and t not in breakers}
    note = (step.notes or {}).get("dry")
    if not penalized:
        assert note is None
        return
    assert note["count"] == len(penalized) and len(note["penalized"]) == min(NOTED, len(penalized))
    raw = {c.id: c.probs["raw"] for c in step.candidates}
    for entry in note["penalized"]:
        length, start, token = entry["L"], entry["start"], entry["id"]
        assert length == penalized[token]
        assert context[start : start + length] == context[len(context) - length :]  # the span the suffix repeats
        assert context[start + length] == token  # ... and what followed it then
        assert entry["penalty"] == pytest.approx(0.8 * 1.75 ** (length - 2))
        unnamed = set(penalized) - {e["id"] for e in note["penalized"]}
        assert all(raw[token] >= raw[other] for other in unnamed)  # the model's favourites are the ones named


def test_each_step_names_the_repeats_a_brute_force_search_finds(tiny_loaded):
    trace = generate(tiny_loaded, LOOP, Settings(**DRY))
    breakers = breaker_token_ids(tiny_loaded.tokenizer, DRY_SEQUENCE_BREAKERS)
    for index in range(len(trace.steps)):
        check_dry_note(trace, index, breakers)
    first = trace.steps[0].notes["dry"]["penalized"][0]
    assert (first["id"], first["L"]) == (tiny_loaded.tokenizer.convert_tokens_to_ids("c"), 8)  # "abcabcab" + "c"
    assert Trace.from_dict(trace.to_dict()).to_dict() == trace.to_dict()


def test_the_step_view_marks_each_named_token_and_says_the_first(tiny_loaded):
    trace = generate(tiny_loaded, LOOP, Settings(**DRY))
    step = trace.steps[0]
    fig = stage_figure(trace, 0)
    marks = [a.text for a in fig.layout.annotations]
    for entry in step.notes["dry"]["penalized"]:
        c = next(c for c in step.candidates if c.id == entry["id"])
        assert f"DRY L{entry['L']} {c.probs['raw']:.2f}→{c.probs['dry']:.2f}" in marks
    assert "DRY: 'c' would repeat '…cabcabc' from the prompt, L = 8" in fig.layout.title.subtitle.text


def test_a_branch_notes_its_forced_steps_as_the_parent_did(tiny_loaded):
    settings = Settings(**DRY, strategy="sample", seed=2, top_k=0)
    parent = generate(tiny_loaded, LOOP, settings)
    token = next(c.id for c in parent.steps[2].candidates if c.id != parent.steps[2].chosen.id)
    child = generate(tiny_loaded, LOOP, settings.replace(**branch_point(parent, 3, token)))
    assert [s.notes for s in child.steps[:2]] == [s.notes for s in parent.steps[:2]]
    breakers = breaker_token_ids(tiny_loaded.tokenizer, DRY_SEQUENCE_BREAKERS)
    for index in range(len(child.steps)):
        check_dry_note(child, index, breakers)


def test_presence_frequency_marks_the_windows_counts(tiny_loaded):
    settings = Settings(chat=False, presence_penalty=0.5, frequency_penalty=0.3, penalty_last_n=6, max_new_tokens=4,
                        min_new_tokens=4, top_n=128, limits=WHOLE)  # fmt: skip
    trace = generate(tiny_loaded, LOOP, settings)
    for index, step in enumerate(trace.steps):
        window = context_ids(trace, index)[-6:]
        counts = {t: window.count(t) for t in set(window)}
        marks = sorted(a.text for a in stage_figure(trace, index).layout.annotations if a.text.startswith("×"))
        assert marks == sorted(f"×{n}" for n in counts.values())
        # The processor subtracted exactly what the counts say: the recorded probabilities agree (it reads what
        # min_new_tokens left, the end-of-sequence token masked).
        raw = {c.id: c.probs["min_new_tokens"] for c in step.candidates}
        weights = {t: p * math.exp(-(counts.get(t, 0) * 0.3 + (t in counts) * 0.5)) for t, p in raw.items()}
        total = math.fsum(weights.values())
        for c in step.candidates:
            assert c.probs["presence_frequency"] == pytest.approx(weights[c.id] / total, rel=1e-4, abs=1e-8)
