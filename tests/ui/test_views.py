"""The step view's "Take instead" list, from hand-made steps."""

from types import SimpleNamespace

from playground.trace import Chosen, Step
from playground.ui.views import take_choices
from tests.helpers import byte_candidate


def test_take_instead_names_a_token_inside_a_character_by_what_it_would_add():
    first = Step(
        0,
        Chosen(9, "\ufffd", 0.9, "e697"),
        0.3,
        [byte_candidate(9, b"\xe6\x97", 0.9), byte_candidate(8, b" \xe6", 0.1)],
    )
    options = [byte_candidate(1, b"\xa5", 0.6), byte_candidate(2, b"\xa7", 0.3), byte_candidate(3, b"!", 0.1)]
    second = Step(1, Chosen(1, "\ufffd", 0.6, "a5"), 1.0, options)
    trace = SimpleNamespace(steps=[first, second])
    assert [label for label, _ in take_choices(trace, 1).choices] == ["旧  (p = 0.300)", "!  (p = 0.100)"]
    assert [label for label, _ in take_choices(trace, 0).choices] == ["␣‹e6›  (p = 0.100)"]
