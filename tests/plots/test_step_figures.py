"""The step view on hand-built steps: stages named as their controls are, top-k's kept ties said where they
happen, counts in the singular, legends and labels clear of titles."""

import pytest

from playground.plots import stage_figure
from playground.plots.distributions import CHOSEN_RISE
from playground.plots.draft_tree import draft_tree_figure
from playground.plots.style import STAGE_LABELS, ordinal, stage_label
from playground.trace import STAGES, DraftInfo, Emitted, Speculative, SpeculativeRound, TreeNode
from playground.ui.views import take_choices
from tests.plots.hand_built import hand_trace

# A 12-token vocabulary whose 5th and 6th logits tie: top-k 5 keeps both (transformers keeps every score equal
# to the k-th), so 6 tokens are left.
TIED = [3.0, 2.5, 2.0, 1.5, 1.0, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0]


def texts(fig) -> list[str]:
    """Every text a figure shows or hovers: title and subtitle, legend names, hover templates, annotations."""
    found = [fig.layout.title.text or "", fig.layout.title.subtitle.text or ""]
    found += [t.name or "" for t in fig.data] + [t.hovertemplate or "" for t in fig.data]
    return found + [a.text or "" for a in fig.layout.annotations] + [a.hovertext or "" for a in fig.layout.annotations]


def test_every_stage_is_named_as_its_control_is():
    assert stage_label("top_k") == "Top-k" and stage_label("no_repeat_ngram") == "No-repeat n-gram"
    assert stage_label("repetition_penalty") == "Repetition penalty" and stage_label("raw") == "raw"
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
