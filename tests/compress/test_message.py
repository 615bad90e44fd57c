"""Which tokens a character span holds and which spell a forced word, on hand-built character offsets."""

from playground.compress.message import forced_tokens, in_span, message_tokens

# "The cat, concatenated." as a byte-level tokenizer with trimmed offsets might cut it: " cat" spans 3..7.
TEXT = "The cat, concatenated."
OFFSETS = [(0, 3), (3, 7), (7, 8), (8, 11), (11, 14), (14, 21), (21, 22), (22, 22)]


def test_a_token_belongs_to_the_span_its_last_character_is_in():
    assert in_span(OFFSETS, 0, 8) == [True, True, True, False, False, False, False, False]
    assert in_span(OFFSETS, 5, 9) == [False, True, True, False, False, False, False, False]
    assert in_span(OFFSETS, 22, 23) == [False] * 7 + [True]  # a token that spells nothing: by its position


def test_a_span_inside_one_token_but_short_of_its_end_holds_none():
    assert not any(in_span(OFFSETS, 15, 18))


def test_forced_words_match_whole_words_only_and_every_token_of_them():
    assert forced_tokens(OFFSETS, TEXT, ["cat"]) == [False, True, False, False, False, False, False, False]
    assert forced_tokens(OFFSETS, TEXT, ["concatenated"]) == [False, False, False, True, True, True, False, False]
    assert forced_tokens(OFFSETS, TEXT, [","]) == [False, False, True, False, False, False, False, False]
    assert forced_tokens(OFFSETS, TEXT, ["dog"]) == [False] * 8


def test_chat_reads_a_control_token_in_the_message_as_text(tiny_tokenizer):
    plain = message_tokens(tiny_tokenizer, "a<eos>b", chat=False)
    chat = message_tokens(tiny_tokenizer, "a<eos>b", chat=True)
    eos = tiny_tokenizer.eos_token_id
    assert eos in plain.ids and eos not in chat.ids and len(chat.ids) == len("a<eos>b")
    assert tiny_tokenizer.decode(chat.context) == "<bos>user: "
