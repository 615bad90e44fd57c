"""Sample many from here, called as the page calls it: from the step view (its step and Take instead's token) or
from a token's card (the run's own token there), many samples continue the shown run, each starting with its
tokens before the step and the token."""

import pytest

from playground.engine.branch import branch_point
from playground.ui.events import card_choice
from playground.ui.tokens import trace_html
from tests.ui.conftest import VALUES


@pytest.fixture
def parent(runs):
    *_, (_, _, trace) = runs.page.generate(VALUES)
    return trace


def test_many_samples_continue_the_shown_run_from_a_step_with_a_token(runs, parent):
    token = next(c.id for c in parent.steps[2].candidates if c.id != parent.steps[2].chosen.id)
    values = {**VALUES, "num_samples": 4.0, "seed": 2.0, "temperature": 1.2}
    *_, (html, status, many) = runs.page.branch(values, parent, 3.0, token, session="ash", many=True)
    prefix = [*parent.output.token_ids[:2], token]
    assert many.settings["strategy"] == "sample" and many.settings["parent_run"] == parent.run_id
    assert [s.seed for s in many.samples.samples] == [2, 3, 4, 5]
    assert all(s.token_ids[:3] == prefix for s in many.samples.samples)
    assert many.branch.parent == parent.run_id and many.branch.at == 3 and html == trace_html(many)
    assert status.startswith("tiny-random-llama fp32 · 4 samples, ")
    assert status.endswith(f"branched at step 3: took {many.branch.token.text!r} (p = {many.branch.token.prob:.3g}), "
                           "the samples continue after it")  # fmt: skip
    assert runs.switches.stop("ash") is False  # the session is free again


def test_the_cards_many_button_means_the_runs_own_token_at_that_step(parent):
    step, token, many = card_choice(parent, {"step": 4, "token": None, "many": True})
    assert (step, token, many) == (4, parent.output.token_ids[3], True)
    assert branch_point(parent, step, token)["prefix_ids"] == tuple(parent.output.token_ids[:4])
    assert card_choice(parent, {"step": 2, "token": 7}) == (2, 7, False)  # an alternative taken once
    assert card_choice(parent, {"step": 99, "token": None, "many": True}) == (99, None, True)  # refused by name later
    assert card_choice(parent, "junk") == (None, None, False)
