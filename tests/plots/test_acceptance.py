"""The Draft acceptance view on hand-built rounds: tokens the target never tested are drawn as not checked, not
as rejected; every round shows the target's own token with its p; prompt lookup says where it found each
draft."""

import copy

import pytest

from playground.engine import generate
from playground.plots.draft_tree import draft_tree_figure
from playground.plots.speculative import acceptance_figure
from playground.plots.style import GREEN, GREY, ORANGE, VERMILLION
from playground.settings import Settings
from playground.trace import Emitted, Proposal, SpeculativeRound, round_verdicts


@pytest.fixture(scope="module")
def base(tiny_tokenizer):
    """A prompt-lookup run of a tiny model, whose rounds each test replaces by its own."""
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", chat=False, max_new_tokens=12)
    return generate(loaded, "the cat the cat", settings.replace(min_new_tokens=12))


def spec_round(start: int, texts: list[str], accepted: int, emitted: Emitted, lookup=None) -> SpeculativeRound:
    verdicts = round_verdicts(accepted, len(texts))
    proposed = [
        Proposal(id=10 + j, text=text, q=0.007 if j else 0.5, p=0.008 if j else 0.9, accepted=verdicts[j])
        for j, text in enumerate(texts)
    ]
    return SpeculativeRound(start, len(texts), proposed, emitted, 0.5, 1.5, accepted + 1, lookup=lookup)


def with_rounds(base, rounds: list[SpeculativeRound]):
    trace = copy.deepcopy(base)
    trace.speculative.rounds = rounds
    return trace


ROUNDS = [
    # A rejection at position 2 of 4: " keeper" (p = 0.008 >= q = 0.007) after it was never tested.
    spec_round(0, [" the", " light", " keeper", " found"], 1, Emitted(30, " lamp", "resampled", 0.4), "template"),
    spec_round(2, [" a", " bottle"], 2, Emitted(31, ".", "bonus", 0.25), "output"),
    spec_round(5, [" x"], 0, Emitted(32, " y", "corrected", 0.6), "prompt"),
    spec_round(6, [], 0, Emitted(33, " z", "bonus", 0.7)),
]


def by_name(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_tokens_after_the_first_rejection_are_drawn_as_not_checked(base):
    fig = acceptance_figure(with_rounds(base, ROUNDS))
    drawn = by_name(fig)
    accepted, rejected, unchecked = drawn["accepted"], drawn["rejected"], drawn["not checked"]
    assert list(zip(unchecked.x, unchecked.y, strict=True)) == [(1, 3), (1, 4)]
    assert list(zip(rejected.x, rejected.y, strict=True)) == [(1, 2), (3, 1)]
    assert len(accepted.x) == 3 and accepted.marker.color == GREEN and rejected.marker.color == VERMILLION
    assert unchecked.marker.symbol == "square-open" and unchecked.marker.color == GREY
    keeper = unchecked.text[0]
    assert "␣keeper" in keeper and "p = 0.008, q = 0.007" in keeper and "not checked" in keeper
    assert "rejected" not in keeper.split("<br>")[0]


def test_the_title_counts_agreement_on_the_tokens_the_target_checked(base):
    trace = with_rounds(base, ROUNDS)
    trace.speculative.acceptance_rate = 3 / 7  # 3 of the 7 drafted tokens kept
    # Checked: round 1's first two (one kept), round 2's two (both kept), round 3's one (rejected): 3 of 5.
    title = acceptance_figure(trace).layout.title.text
    assert "43% of draft tokens accepted (60% of those the target checked)" in title


def test_every_round_shows_the_targets_own_token_with_its_p(base):
    fig = acceptance_figure(with_rounds(base, ROUNDS))
    own = by_name(fig)["the target's own token"]
    assert own.marker.symbol == "diamond" and own.marker.color == ORANGE  # as in the Medusa tree
    assert len(own.x) == len(ROUNDS) and list(own.y) == [2, 3, 1, 1]  # where each took its place
    assert [round(x) for x in own.x] == [1, 2, 3, 4]
    assert "␣lamp" in own.text[0] and "(resampled): p = 0.400" in own.text[0]
    assert "(bonus): p = 0.250" in own.text[1] and "(corrected): p = 0.600" in own.text[2]


def test_an_older_trace_shows_the_targets_p_from_its_step(base):
    trace = copy.deepcopy(base)
    r = trace.speculative.rounds[0]
    r.emitted.p = None  # as written before rounds recorded it
    own = by_name(acceptance_figure(trace))["the target's own token"]
    step = trace.steps[r.start + r.accepted_count()]
    assert f"p = {step.chosen.prob:.3f}" in own.text[0]


def test_prompt_lookup_says_where_each_draft_was_found(base):
    fig = acceptance_figure(with_rounds(base, ROUNDS))
    drawn = by_name(fig)
    assert list(drawn["found in the chat template"].x) == [1]
    assert list(drawn["found in your prompt"].x) == [3]
    assert list(drawn["found in the text so far"].x) == [2]
    assert all(y == 0 for name in drawn if name.startswith("found in") for y in drawn[name].y)
    assert "found in" in fig.layout.yaxis.ticktext


def test_a_model_draft_has_no_lookup_row(base):
    rounds = [copy.deepcopy(r) for r in ROUNDS]
    for r in rounds:
        r.lookup = None
    fig = acceptance_figure(with_rounds(base, rounds))
    assert not [t for t in fig.data if (t.name or "").startswith("found in")]
    assert "found in" not in (fig.layout.yaxis.ticktext or ())


def test_the_medusa_trees_own_token_hover_gives_its_p(base):
    from playground.trace import TreeNode

    root = TreeNode(id=1, text="a", parent=-1, depth=0, rank=-1, q=1.0, p=1.0, accepted=True)
    guess = TreeNode(id=2, text="b", parent=0, depth=1, rank=0, q=0.6, p=0.3, accepted=False)
    r = spec_round(0, ["b"], 0, Emitted(3, "c", "corrected", 0.55))
    r.tree = [root, guess]
    fig = draft_tree_figure(with_rounds(base, [r]), 0)
    own = next(t for t in fig.data if (t.name or "").startswith("the target's own token"))
    assert "p = 0.550" in own.hovertext[0]
