"""DRY's and the presence/frequency penalty's attributions in the step view, on traces built by hand (every number
computed here), then on engine runs where the test finds each repeat and count by brute force."""

from __future__ import annotations

import copy

from playground.plots.context_marks import context_ids
from playground.plots.distributions import stage_figure
from playground.plots.penalty_marks import dry_reason, spelled_span
from tests.plots.hand_built import hand_trace, softmax

# Six tokens t0..t5; the prompt "t0 t1 t2 t3 t0 t1" ends with "t0 t1", which was followed by t2 at position 2.
LOGITS = [2.0, 1.5, 1.0, 0.5, 0.0, -0.5]
PROMPT = [0, 1, 2, 3, 0, 1]


def with_penalties(presence: float, frequency: float, dry: float | None) -> object:
    """The one-step hand trace over LOGITS with the presence/frequency stage (window: the whole prompt) and, when
    `dry`, DRY's stage after it penalizing t2 by `dry` (L = 2, the span starting at position 0), with its note."""
    trace = hand_trace(LOGITS, prompt=PROMPT)
    counts = [PROMPT.count(t) for t in range(len(LOGITS))]
    scores = [x - n * frequency - (n > 0) * presence for x, n in zip(LOGITS, counts, strict=True)]
    stages = {"presence_frequency": softmax(scores)}
    if dry is not None:
        scores = [x - dry if t == 2 else x for t, x in enumerate(scores)]
        stages["dry"] = softmax(scores)
        trace.steps[0].notes = {"dry": {"penalized": [dict(id=2, L=2, start=0, penalty=dry)], "count": 1}}
    for c in trace.steps[0].candidates:
        c.probs = {
            "raw": c.probs["raw"],
            **{name: p[c.id] for name, p in stages.items()},
            "final": softmax(scores)[c.id],
        }
    trace.settings |= dict(presence_penalty=presence, frequency_penalty=frequency, penalty_last_n=-1)
    return trace


def annotations(fig) -> dict[str, str]:
    return {a.text: a.hovertext for a in fig.layout.annotations if a.hovertext}


def test_presence_frequency_marks_each_counted_candidate_with_its_count():
    trace = with_penalties(presence=0.5, frequency=0.25, dry=None)
    fig = stage_figure(trace, 0)
    marks = annotations(fig)
    assert {text for text in marks if text.startswith("×")} == {"×2", "×1"}  # t0, t1 twice; t2, t3 once
    t0 = trace.steps[0].candidates[0]
    before, after = t0.probs["raw"], t0.probs["presence_frequency"]
    hovers = [a.hovertext for a in fig.layout.annotations if a.text == "×2"]
    assert hovers[0] == f"'t0' occurs 2× in the window: 0.5 + 2 × 0.25 = 1 off its logit, p {before:.4f} → {after:.4f}"
    assert after == softmax([2.0 - 1.0, 1.5 - 1.0, 1.0 - 0.75, 0.5 - 0.75, 0.0, -0.5])[0]
    subtitle = fig.layout.title.subtitle.text
    line = "presence/frequency: 4 candidates in the whole context (marked ×count), each logit 0.5 + count × 0.25 lower"
    assert line in subtitle


def test_dry_marks_the_token_with_its_fall_and_names_the_span():
    trace = with_penalties(presence=0.0, frequency=0.0, dry=0.8)
    fig = stage_figure(trace, 0)
    t2 = next(c for c in trace.steps[0].candidates if c.id == 2)
    before, after = t2.probs["presence_frequency"], t2.probs["dry"]
    assert after < before
    text = f"DRY L2 {before:.2f}→{after:.2f}"
    hover = annotations(fig)[text]
    reason = "'t2' would repeat 't0t1t2' from the prompt, L = 2"
    assert hover == f"{reason}: DRY took 0.8 off its logit, p {before:.4f} → {after:.4f}"
    assert "DRY: 't2' would repeat 't0t1t2' from the prompt, L = 2" in fig.layout.title.subtitle.text


def test_a_span_from_the_output_names_its_step_and_a_long_one_is_cut():
    trace = hand_trace(LOGITS, prompt=PROMPT)
    trace.steps = [trace.steps[0], copy.deepcopy(trace.steps[0])]  # step 2 reads the prompt and step 1's t0
    trace.steps[1].index = 1
    assert trace.steps[0].chosen.id == 0 and context_ids(trace, 1) == [*PROMPT, 0]
    entry = dict(id=1, L=1, start=len(PROMPT), penalty=1.0)  # "t0" at step 1, which t1 would follow again
    assert dry_reason(trace, 1, entry) == "'t1' would repeat 't0t1' from step 1, L = 1"
    assert dry_reason(trace, 1, entry | dict(start=4)) == "'t1' would repeat 't0t1' from the prompt, L = 1"
    long = hand_trace(LOGITS, prompt=list(range(6)) * 2)
    assert spelled_span(long, 0, 0, 8) == "…t2t3t4t5t0t1"  # the last SPAN = 6 of 8 tokens
