"""The step view's "Take instead" list, from hand-made steps."""

from types import SimpleNamespace

from playground.trace import Candidate, Chosen, Step
from playground.ui.views import take_choices


def test_take_instead_names_a_token_inside_a_character_by_what_it_would_add():
    def cand(token_id, raw, p):
        text = raw.decode("utf-8", errors="replace")
        return Candidate(token_id, text, 0.0, {"final": p}, None, raw.hex() if "\ufffd" in text else None)

    first = Step(0, Chosen(9, "\ufffd", 0.9, "e697"), 0.3, [cand(9, b"\xe6\x97", 0.9), cand(8, b" \xe6", 0.1)])
    options = [cand(1, b"\xa5", 0.6), cand(2, b"\xa7", 0.3), cand(3, b"!", 0.1)]
    second = Step(1, Chosen(1, "\ufffd", 0.6, "a5"), 1.0, options)
    trace = SimpleNamespace(steps=[first, second])
    assert [label for label, _ in take_choices(trace, 1).choices] == ["旧  (p = 0.300)", "!  (p = 0.100)"]
    assert [label for label, _ in take_choices(trace, 0).choices] == ["␣‹e6›  (p = 0.100)"]
