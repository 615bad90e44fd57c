"""A token's bytes, read from its piece: GPT-2's byte stand-ins and SentencePiece's byte fallback."""

from tokenizers import decoders

from playground.engine.token_bytes import byte_decoder, token_bytes


class Pieces:
    """A tokenizer that knows only its pieces."""

    def __init__(self, pieces: dict[int, str]):
        self.pieces = pieces

    def convert_ids_to_tokens(self, token_id):
        return self.pieces[token_id]


def test_the_byte_map_is_the_one_byte_level_tokenizers_decode_with():
    stand_ins = byte_decoder()
    assert sorted(stand_ins.values()) == list(range(256))
    level = decoders.ByteLevel()
    for char, byte in stand_ins.items():
        assert level.decode([char]) == bytes([byte]).decode("utf-8", errors="replace")


def test_a_byte_level_piece_gives_its_bytes_when_its_text_is_not_whole_characters():
    tokenizer = Pieces({1: "Ġæ", 2: "Ĺ", 3: "¥", 4: "æľ¬", 5: "Ġcat"})
    assert token_bytes(tokenizer, 1, " \ufffd") == b" \xe6"
    assert token_bytes(tokenizer, 2, "\ufffd") == b"\x97" and token_bytes(tokenizer, 3, "\ufffd") == b"\xa5"
    assert (b" \xe6" + b"\x97" + b"\xa5").decode() == " 日"
    assert token_bytes(tokenizer, 4, "本") is None and token_bytes(tokenizer, 5, " cat") is None  # whole


def test_sentencepiece_byte_fallback_pieces_give_their_byte():
    tokenizer = Pieces({7: "<0xE6>", 8: "<0x97>"})
    assert token_bytes(tokenizer, 7, "\ufffd") == b"\xe6" and token_bytes(tokenizer, 8, "\ufffd") == b"\x97"


def test_pieces_that_do_not_spell_the_text_are_left_alone():
    tokenizer = Pieces({1: "▁日", 2: "Ġæ", 3: "<unk>"})
    assert token_bytes(tokenizer, 1, "\ufffd") is None  # not a byte stand-in
    assert token_bytes(tokenizer, 2, "x\ufffd") is None  # bytes that decode to another text
    assert token_bytes(tokenizer, 3, "\ufffd") is None
