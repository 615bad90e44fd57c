"""The pass cost in the Draft acceptance views, on hand-built rounds: c(k) with every round against it (which paid),
a mark per draft source with a legend entry each, each round's hover naming its source and cost, and runs that
record neither drawn as before."""

import copy

import pytest

from playground.engine import generate
from playground.plots.draft_cost import SOURCE_STYLE, UNNAMED_STYLE, round_note
from playground.plots.draft_tree import depth_figure, draft_tree_figure
from playground.plots.speculative import acceptance_figure
from playground.settings import Settings
from playground.trace import DRAFT_SOURCES, Emitted, Proposal, SpeculativeRound, TreeNode, round_verdicts

CURVE = [1.0] * 4 + [1.2] * 4 + [1.4] * 4 + [1.6] * 4  # c(k), k = 1..16


@pytest.fixture(scope="module")
def base(tiny_tokenizer):
    """A prompt-lookup run of a tiny model, whose rounds each test replaces by its own."""
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", chat=False, max_new_tokens=12)
    return generate(loaded, "the cat the cat", settings.replace(min_new_tokens=12))


def chain_round(start: int, drafted: int, accepted: int, source=None, cost=None, lookup=None) -> SpeculativeRound:
    """A round that proposed `drafted` tokens and kept `accepted` of them, then emitted the target's own."""
    verdicts = round_verdicts(accepted, drafted)
    proposed = [Proposal(id=10 + j, text=f" w{j}", q=1.0, p=0.5, accepted=verdicts[j]) for j in range(drafted)]
    emitted = Emitted(30, " own", "corrected" if accepted < drafted else "bonus", 0.5)
    return SpeculativeRound(start, drafted, proposed, emitted, 0.5, 1.9, accepted + 1, None, lookup, source, cost)


def tree_round(start: int, accepted: int, source=None, cost=None) -> SpeculativeRound:
    """A round whose tree is a chain of three guesses under the root, the first `accepted` of them accepted."""
    nodes = [TreeNode(0, "root", -1, 0, -1, 1.0, 1.0, True)]
    nodes += [TreeNode(10 + d, f" g{d}", d - 1, d, 0, 0.5, 0.4, d <= accepted) for d in range(1, 4)]
    r = chain_round(start, 3, accepted, source, cost)
    r.tree = nodes
    return r


def with_rounds(base, rounds: list[SpeculativeRound], curve: list[float] | None = CURVE):
    trace = copy.deepcopy(base)
    trace.speculative.rounds = rounds
    trace.speculative.cost_curve = curve
    return trace


AUTO_ROUNDS = [
    chain_round(0, 3, 2, "suffix", 1.0),  # fed 4, emitted 3 for the cost of 1: paid
    chain_round(3, 5, 0, "prompt-lookup", 1.2, lookup="output"),  # fed 6, emitted 1 for 1.2: did not pay
    chain_round(4, 0, 0, "none", 1.0),  # a plain step: as fast as plain steps
    chain_round(5, 3, 2, "suffix", 1.0),  # the first round's point again
]


def by_name(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_every_draft_source_has_its_own_colour_symbol_and_legend_name():
    assert tuple(SOURCE_STYLE) == DRAFT_SOURCES
    styles = [*SOURCE_STYLE.values(), UNNAMED_STYLE]
    for part in range(3):  # symbol, colour, legend name
        assert len({style[part] for style in styles}) == len(styles)


def test_a_rounds_note_names_its_source_its_pass_cost_and_what_it_expected():
    assert round_note(chain_round(0, 3, 1, "suffix", 1.16)) == (
        "the suffix index drafted 3 tokens: pass cost 1.16 steps, expected 1.9 tokens"
    )
    assert (
        round_note(chain_round(0, 0, 0, "none", 1.0)) == "a plain step, no draft worth its cost: pass cost 1.00 steps"
    )
    assert round_note(chain_round(0, 1, 1, "medusa")) == "the Medusa heads drafted 1 token: expected 1.9 tokens"
    assert round_note(chain_round(0, 2, 1, cost=1.2)) == "2 draft tokens: pass cost 1.20 steps, expected 1.9 tokens"
    assert round_note(chain_round(0, 2, 1)) == ""  # a run from before sources and costs


def test_the_cost_panel_draws_c_of_k_and_every_round_at_what_it_fed_and_emitted(base):
    fig = acceptance_figure(with_rounds(base, AUTO_ROUNDS))
    assert len(fig.layout.annotations) == 5 and "c(k)" in fig.layout.annotations[4].text
    curve = next(t for t in fig.data if t.name.startswith("c(k)"))
    assert list(curve.x) == list(range(1, 17)) and list(curve.y) == CURVE and curve.xaxis == "x5"
    marks = {t.legendgroup: t for t in fig.data if t.xaxis == "x5" and t.mode == "markers"}
    suffix, lookup, plain = marks["source-suffix"], marks["source-prompt-lookup"], marks["source-none"]
    assert (list(suffix.x), list(suffix.y)) == ([4], [3])
    assert "2 rounds (1, 4)" in suffix.text[0] and "paid" in suffix.text[0] and "did not pay" not in suffix.text[0]
    assert (list(lookup.x), list(lookup.y)) == ([6], [1]) and "did not pay" in lookup.text[0]
    assert "as fast as plain steps" in plain.text[0]
    assert suffix.marker.size[0] > lookup.marker.size[0]  # two rounds at one point: a larger mark
    for source, mark in marks.items():
        symbol, colour, name, _ = SOURCE_STYLE[source.removeprefix("source-")]
        assert (mark.marker.symbol, mark.marker.color, mark.name) == (symbol, colour, name)
        assert mark.showlegend is False  # the "drafted by" row has the legend entry


def test_a_drafted_by_row_tells_sources_apart_under_the_found_in_row(base):
    fig = acceptance_figure(with_rounds(base, AUTO_ROUNDS))
    row = {t.legendgroup: t for t in fig.data if t.xaxis == "x" and (t.legendgroup or "").startswith("source-")}
    assert list(row["source-suffix"].x) == [1, 4] and set(row["source-suffix"].y) == {-1}
    assert row["source-none"].showlegend is not False and row["source-none"].name == SOURCE_STYLE["none"][2]
    assert "round 2: prompt lookup drafted 5 tokens: pass cost 1.20 steps" in row["source-prompt-lookup"].text[0]
    axis = fig.layout.yaxis
    assert list(axis.ticktext[:2]) == ["drafted by", "found in"] and list(axis.tickvals[:2]) == [-1, 0]
    assert axis.range[0] == pytest.approx(-1.6)
    without_lookup = [chain_round(0, 2, 1, "suffix", 1.0), chain_round(2, 0, 0, "none", 1.0)]
    fig = acceptance_figure(with_rounds(base, without_lookup))
    assert fig.layout.yaxis.ticktext[0] == "drafted by" and fig.layout.yaxis.tickvals[0] == 0


def test_each_rounds_hover_names_its_source_and_cost(base):
    fig = acceptance_figure(with_rounds(base, AUTO_ROUNDS))
    drawn = by_name(fig)
    assert "the suffix index drafted 3 tokens: pass cost 1.00 steps" in drawn["the target's own token"].text[0]
    assert "a plain step, no draft worth its cost" in drawn["per round"].text[2]


def test_rounds_of_one_fixed_draft_have_one_legend_entry_in_the_cost_panel(base):
    fig = acceptance_figure(with_rounds(base, [chain_round(0, 3, 1, cost=1.0), chain_round(2, 3, 3, cost=1.0)]))
    marks = [t for t in fig.data if t.xaxis == "x5" and t.mode == "markers"]
    assert len(marks) == 1 and marks[0].name == "a round" and marks[0].showlegend is not False
    assert not [t for t in fig.data if (t.legendgroup or "").startswith("source-") and t.xaxis == "x"]


def test_a_run_without_cost_or_sources_draws_the_four_panels_as_before(base):
    rounds = [chain_round(0, 3, 1, lookup="prompt"), chain_round(2, 2, 2)]
    fig = acceptance_figure(with_rounds(base, rounds, curve=None))
    assert len(fig.layout.annotations) == 4 and fig.layout.height == 620
    assert not [t for t in fig.data if t.xaxis == "x5" or (t.name or "").startswith("c(k)")]
    assert by_name(fig)["per round"].text is None and list(fig.layout.yaxis.ticktext[:1]) == ["found in"]
    assert "pass cost" not in by_name(fig)["the target's own token"].text[0]


def test_tree_rounds_name_their_source_and_the_depth_view_draws_the_break_even_line(base):
    rounds = [tree_round(0, 2, "medusa", 1.0), tree_round(3, 0, "medusa", 1.0)]
    trace = with_rounds(base, rounds)
    tree = draft_tree_figure(trace, 0)
    assert "the Medusa heads drafted 3 tokens: pass cost 1.00 steps" in tree.layout.title.text
    own = next(t for t in tree.data if (t.name or "").startswith("the target's own token"))
    assert "pass cost 1.00 steps" in own.hovertext[0]
    depth = depth_figure(trace)
    line = next(t for t in depth.data if (t.name or "").startswith("c(k)"))
    assert list(line.y) == CURVE and line.xaxis == "x2"
    assert "the Medusa heads drafted" in by_name(depth)["a round"].text[0]
    old = with_rounds(base, [tree_round(0, 2), tree_round(3, 0)], curve=None)
    assert not [t for t in depth_figure(old).data if (t.name or "").startswith("c(k)")]
    assert "pass cost" not in draft_tree_figure(old, 0).layout.title.text
