"""What a candidate token would add to a text whose last character may be unfinished, from hand-made bytes,
checked against Python's own UTF-8 decoder."""

import codecs

from hypothesis import example, given
from hypothesis import strategies as st

from playground.characters import candidate_text, pending_before
from playground.trace import Candidate, Chosen, Step
from tests.helpers import byte_candidate


def token(raw: bytes, token_id: int = 7) -> Candidate:
    return byte_candidate(token_id, raw)


def chosen(index: int, raw: bytes) -> Step:
    cand = token(raw, 100 + index)
    return Step(index, Chosen(cand.id, cand.text, 0.5, cand.bytes), 1.0, [cand])


def test_a_whole_token_reads_as_its_text():
    assert candidate_text(token(b" cat")) == " cat" and candidate_text(token("本".encode())) == "本"
    assert candidate_text(token(b" cat"), b"\xe6\x97") == " cat"  # the unfinished bytes are the text's, not its


def test_a_token_that_completes_a_character_reads_as_the_character():
    assert candidate_text(token(b"\xa5"), b"\xe6\x97") == "日"
    assert candidate_text(token(b"\x97\xa5"), b"\xe6") == "日"
    assert candidate_text(token(b"\xa5\xe6"), b"\xe6\x97") == "日‹e6›"  # and begins the next one


def test_a_token_inside_a_character_reads_as_its_own_bytes():
    assert candidate_text(token(b" \xe6\x97")) == " ‹e6 97›"
    assert candidate_text(token(b"\x97"), b"\xe6") == "‹97›"  # e6 is the text's already
    assert candidate_text(token(b"\xf0\x9f"), b"") == "‹f0 9f›"


def test_bytes_that_cannot_continue_the_character_end_it_as_the_decoder_does():
    assert candidate_text(token(b"\xe6\x97"), b"\xe6") == "\ufffd‹e6 97›"
    assert candidate_text(token(b"\xa5"), b"") == "\ufffd"


def test_pending_bytes_are_those_of_the_last_unfinished_character():
    steps = [chosen(i, raw) for i, raw in enumerate([b" \xe6", b"\x97", b"\xa5", b"!", b"\xf0\x9f"])]
    assert [pending_before(steps[:n]) for n in range(6)] == [b"", b"\xe6", b"\xe6\x97", b"", b"", b"\xf0\x9f"]


def whole(data: bytes) -> str:
    """`data` decoded as far as it forms characters, and the bytes it leaves unfinished."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(data), decoder.getstate()[0]


@given(text=st.binary(max_size=12), cut=st.integers(0, 12), raw=st.binary(min_size=1, max_size=4))
@example(text=b"\xe6\x97", cut=2, raw=b"\xa5")
@example(text=b"\xe6", cut=1, raw=b"\xe6\x97")
def test_a_candidate_reads_as_what_the_text_gains_by_it(text, cut, raw):
    """After chosen tokens spelling `text`, the candidate `raw` shows the characters the text gains, as the
    decoder finds them; bytes it leaves unfinished follow in ‹›, and they are the candidate's own."""
    steps = [chosen(i, part) for i, part in enumerate((text[:cut], text[cut:])) if part]  # no token is empty
    pending = pending_before(steps)
    before, left = whole(text)
    assert pending == left
    after, left_after = whole(text + raw)
    shown = candidate_text(token(raw), pending)
    if token(raw).bytes is None:  # whole characters: the token's text
        assert shown == raw.decode()
        return
    gained = after[len(before) :]
    assert shown == gained + (f"‹{(left_after if gained else raw).hex(' ')}›" if left_after else "")
    assert after.startswith(before)
