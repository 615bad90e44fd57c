"""The step view and the temperature view on hand-built steps: stages named as their controls are, top-k's kept
ties said where they happen, counts in the singular, legends and labels clear of titles, and each candidate's
probability at several temperatures against softmax(logits / T) over the whole vocabulary."""

import math

import pytest
import torch

from playground.plots import stage_figure, temperature_figure
from playground.plots.distributions import CHOSEN_RISE
from playground.plots.draft_tree import draft_tree_figure
from playground.plots.style import STAGE_LABELS, stage_label
from playground.plots.temperatures import temperature_table
from playground.trace import STAGES, DraftInfo, Emitted, Speculative, SpeculativeRound, TreeNode
from playground.ui.views import take_choices
from playground.words import ordinal
from tests.plots.hand_built import hand_trace

# A 12-token vocabulary whose 5th and 6th logits tie: top-k 5 keeps both (transformers keeps every score equal
# to the k-th), so 6 tokens are left.
TIED = [3.0, 2.5, 2.0, 1.5, 1.0, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0]
TEMPERATURES = (0.3, 0.7, 1.0, 1.5)


def texts(fig) -> list[str]:
    """Every text a figure shows or hovers: title and subtitle, legend names, hover templates, annotations."""
    found = [fig.layout.title.text or "", fig.layout.title.subtitle.text or ""]
    found += [t.name or "" for t in fig.data] + [t.hovertemplate or "" for t in fig.data]
    return found + [a.text or "" for a in fig.layout.annotations] + [a.hovertext or "" for a in fig.layout.annotations]


def test_every_stage_is_named_as_its_control_is():
    assert stage_label("top_k") == "Top-k" and stage_label("no_repeat_ngram") == "No-repeat n-gram"
    assert stage_label("repetition_penalty") == "Repetition penalty" and stage_label("raw") == "raw"
    # A stage of two knobs is named for both, whichever is on (the frequency penalty alone is no presence penalty).
    assert stage_label("presence_frequency") == "Presence/frequency penalty"
    for stage in set(STAGES) - {"raw", "final"}:
        assert stage_label(stage) != stage, f"{stage} has no control label"  # a new stage needs its knob
        assert STAGE_LABELS[stage] == f"after {stage_label(stage)}"


def test_the_step_view_names_stages_by_their_controls_not_their_field_names():
    fig = stage_figure(hand_trace(TIED, k=5, top_p=0.9), 0)
    shown = texts(fig)
    assert "✂ Top-k" in shown and "after Top-k" in shown and "cumulative (after Top-k)" in shown
    assert "Top-p = 0.9" in shown  # the cut-off line's label
    assert not [text for text in shown if "top_k" in text or "top_p" in text]
    choices = take_choices(hand_trace(TIED, k=5), 0).choices
    assert any(label.endswith("removed by Top-k)") for label, _ in choices)
    assert not [label for label, _ in choices if "top_k" in label]


def test_the_step_title_says_when_top_k_kept_a_tie():
    title = stage_figure(hand_trace(TIED, k=5), 0).layout.title.text
    assert "6 tokens left: Top-k 5 keeps a tie at the 5th score)" in title
    untied = stage_figure(hand_trace([3.0, 2.5, 2.0, 1.5, 1.0, 0.9, 0.5], k=5), 0).layout.title.text
    assert "5 tokens left)" in untied and "tie" not in untied
    # Without top-k there is no k to compare with.
    assert "tie" not in stage_figure(hand_trace(TIED, top_p=0.9), 0).layout.title.text


def test_counts_of_one_are_singular():
    assert "1 token left)" in stage_figure(hand_trace([3.0, 1.0, 0.0], k=1), 0).layout.title.text
    assert "1 tokens" not in stage_figure(hand_trace([3.0, 1.0, 0.0], k=1), 0).layout.title.text
    title = draft_tree_figure(medusa_trace(), 0).layout.title.text
    assert "0 accepted + the target's own = 1 token" in title and "1 tokens" not in title


def test_ordinals():
    found = [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)]
    assert found == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th",
                     "112th"]  # fmt: skip


def medusa_trace():
    """A Medusa round whose three guesses were all turned down: the target's own token alone."""
    trace = hand_trace([1.0, 0.5, 0.0])
    tree = [
        TreeNode(7, "root", -1, 0, -1, 1.0, 1.0, True),
        TreeNode(8, " a", 0, 1, 0, 0.5, 0.1, False),
        TreeNode(9, " b", 0, 1, 1, 0.3, 0.1, False),
        TreeNode(10, " c", 1, 2, 0, 0.4, 0.1, False),
    ]
    rounds = [SpeculativeRound(0, 3, [], Emitted(0, "t0", "corrected"), 0.1, 1.1, 1, tree=tree)]
    trace.speculative = Speculative(DraftInfo("medusa", tree_size=3), 3, "constant", rounds, 0, 0, 1, 1, 0, 0, 0)
    return trace


@pytest.mark.parametrize("figure", ["step", "medusa"])
def test_legends_stand_right_of_the_plot_area_clear_of_the_axis_titles(figure):
    fig = (
        stage_figure(hand_trace(TIED, k=5, top_p=0.9), 0) if figure == "step" else draft_tree_figure(medusa_trace(), 0)
    )
    legend = fig.layout.legend
    # x >= 1 with its left edge there: wholly right of the plot area, where neither axis title is (the x-axis
    # title is under the plot area, the y-axis title left of it).
    assert legend.orientation == "v" and legend.x >= 1 and legend.xanchor == "left"
    assert fig.layout.xaxis.title.text and (figure == "medusa" or fig.layout.yaxis.title.text)


@pytest.mark.parametrize("penalty", [None, 1.3])
def test_the_chosen_label_has_its_own_band_under_the_title_and_its_note(penalty):
    fig = stage_figure(hand_trace(TIED, k=5, prompt=[0, 2], penalty=penalty), 0)
    title, chosen = fig.layout.title, next(a for a in fig.layout.annotations if a.text == "chosen")
    note = title.subtitle.text
    assert bool(note) == bool(penalty) and (not note or "2 candidates already in the context" in note)
    # The title stands `pad.b` above the plot area and plotly draws its note below it, into that space: what is
    # left under the note must hold the label, centred CHOSEN_RISE above the plot area, with half a line of text
    # (12 px) and a gap above it.
    assert (title.yref, title.y, title.yanchor) == ("paper", 1, "bottom")
    band = title.pad.b - (20 if note else 0)
    assert chosen.yref == "paper" and chosen.y == 1.0 and chosen.ay == -CHOSEN_RISE and chosen.ax == 0
    assert band >= CHOSEN_RISE + 6 + 8
    assert fig.layout.margin.t >= title.pad.b + 17 + 8  # and the title's own line (17 px text) fits in the margin


def full_softmax(logits: list[float], t: float) -> list[float]:
    return torch.softmax(torch.tensor(logits, dtype=torch.float64) / t, dim=0).tolist()


def test_the_temperature_table_is_the_softmax_over_the_whole_vocabulary():
    vocabulary = [math.sin(7 * i) * 4 for i in range(300)]  # (V=300,) logits, no ties
    log_z = {
        f"{t:g}": torch.logsumexp(torch.tensor(vocabulary, dtype=torch.float64) / t, 0).item() for t in TEMPERATURES
    }
    shown = sorted(range(300), key=lambda i: -vocabulary[i])[:10]  # what a step records: the top of the ranking
    table = temperature_table([vocabulary[i] for i in shown], log_z)
    assert list(table) == list(TEMPERATURES)
    for t, probs in table.items():
        softmax = full_softmax(vocabulary, t)
        assert probs == pytest.approx([softmax[i] for i in shown], rel=1e-12)
        assert probs == sorted(probs, reverse=True)  # dividing by T > 0 keeps the order
    assert table[0.3][0] > table[0.7][0] > table[1.0][0] > table[1.5][0]  # a colder T sharpens


def test_the_temperature_view_shows_each_temperature_with_the_same_top_token():
    trace = hand_trace(TIED, k=5, temperatures=TEMPERATURES)
    fig = temperature_figure(trace, 0)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["T = 0.3", "T = 0.7", "T = 1", "T = 1.5"]
    columns = [a.text for a in fig.layout.annotations]  # one title per column: T, then its most likely token
    assert columns == [f"T = {t:g}<br>1. t0: {max(full_softmax(TIED, t)):.2f}" for t in TEMPERATURES]
    assert "'t0' is the most likely token at every T" in fig.layout.title.text
    for bar, t in zip(bars, TEMPERATURES, strict=True):
        exact = full_softmax(TIED, t)  # the candidates are the whole vocabulary here, best first
        assert list(bar.x[:10]) == pytest.approx(sorted(exact, reverse=True)[:10], rel=1e-9)
        assert bar.x[-1] == pytest.approx(sum(sorted(exact, reverse=True)[10:]), abs=1e-9)  # the other 2 tokens
        assert bar.y[-1] == "the other 2 tokens"


def test_the_temperature_view_says_when_a_trace_cannot_give_exact_numbers():
    fig = temperature_figure(hand_trace(TIED), 0)  # written before steps kept their normalisers
    assert "cannot be shown exactly" in fig.layout.annotations[0].text and not fig.data
