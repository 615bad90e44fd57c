"""compress_prompt on the tiny random model and on the embedded model at fp32: losses against passes computed by
hand without the cache, the kept share, forced words, spans, chat and the knobs' checks."""

import json

import pytest
import torch

from playground.compress import Compression, compress_prompt, default_span
from playground.settings import SettingsError

PROMPT = (
    "The lighthouse keeper rowed to the mainland every Tuesday to buy bread, lamp oil and the week's newspapers. "
    "In winter the crossing took two hours, and twice a year the sea was too rough to cross at all. "
    "On which day did the keeper row to the mainland?"
)
MODELS = ["tiny", pytest.param("bundled", marks=pytest.mark.integration)]
SEGMENT = {"tiny": 40, "bundled": 16}  # tokens per segment: several segments either way


@pytest.fixture(params=MODELS)
def model(request):
    """(loaded model, segment size) for each model the checks run on."""
    name = request.param
    return request.getfixturevalue("tiny_loaded" if name == "tiny" else "bundled_fp32"), SEGMENT[name]


def context_ids(tokenizer, prompt: str, chat: bool) -> list[int]:
    """The tokens before the message, rendered independently of the compressor: the chat template's text before
    the message, or what the tokenizer puts in front of a plain prompt."""
    if not chat:
        full, own = tokenizer(prompt)["input_ids"], tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return full[: len(full) - len(own)] if full[len(full) - len(own) :] == own else full[:1]
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    return tokenizer(rendered[: rendered.rindex(prompt)], add_special_tokens=False)["input_ids"]


def fresh_losses(loaded, ids: list[int]) -> torch.Tensor:
    """(len(ids),) -log p(ids[i] | ids[:i]) from one pass over `ids`, no cache kept (teacher forcing); NaN at 0."""
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
    losses = -torch.log_softmax(logits, -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    return torch.cat([torch.tensor([float("nan")]), losses])


# At ratio 0.01 the first segment keeps its forced word only and the next keeps no token: the one after that is
# predicted from the logits the first segment's kept tokens left (the cache's head).
@pytest.mark.parametrize(("chat", "ratio"), [(True, 0.5), (False, 0.5), (True, 0.01), (False, 0.01)])
def test_losses_equal_fresh_passes_over_the_kept_text_before_each_segment(model, chat, ratio):
    loaded, size = model
    result = compress_prompt(loaded, PROMPT, ratio, segment_size=size, chat=chat, force_tokens=["lighthouse"])
    context = context_ids(loaded.tokenizer, PROMPT, chat)
    ids = [token.id for token in result.tokens]
    assert len(result.segments) >= 3
    for number, (start, end) in enumerate(result.segments):
        kept_before = [token.id for token in result.tokens[:start] if token.kept]
        # The first segment: the whole prompt teacher-forced in one pass; later ones: the kept tokens, then it.
        text = context + (ids if number == 0 else kept_before + ids[start:end])
        offset = len(context) + (0 if number == 0 else len(kept_before) - start)
        expected = fresh_losses(loaded, text)[offset + start : offset + end]
        got = torch.tensor([float("nan") if token.loss is None else token.loss for token in result.tokens[start:end]])
        # Only a plain prompt's very first token, with nothing before it, goes unscored (and is kept).
        assert got.isnan().sum() == (0 if context or start else 1)
        assert result.tokens[0].kept or not got.isnan().any()
        torch.testing.assert_close(got, expected, atol=2e-4, rtol=1e-4, equal_nan=True)


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.75])
def test_kept_share_is_within_one_token_per_segment(model, ratio):
    loaded, size = model
    result = compress_prompt(loaded, PROMPT, ratio, segment_size=size)
    for start, end in result.segments:
        kept = sum(token.kept for token in result.tokens[start:end])
        assert abs(kept - ratio * (end - start)) <= 1
    compressible = [token for token in result.tokens if token.compressible]
    assert result.ratio == sum(token.kept for token in compressible) / len(compressible)
    assert abs(result.ratio - ratio) * len(compressible) <= len(result.segments)


def test_ratio_one_keeps_every_token(model):
    loaded, size = model
    result = compress_prompt(loaded, PROMPT, 1.0, segment_size=size)
    assert all(token.kept for token in result.tokens) and result.ratio == 1.0
    assert result.ids == [token.id for token in result.tokens]
    assert result.text == loaded.tokenizer.decode(result.ids) == PROMPT


def test_forced_words_are_never_dropped(model):
    loaded, size = model
    words = ["Tuesday", "two", "keeper"]
    result = compress_prompt(loaded, PROMPT, 0.1, segment_size=size, force_tokens=words)
    forced = [token for token in result.tokens if token.forced]
    assert forced and all(token.kept for token in forced)
    spelled = "".join(token.text for token in forced)
    assert all(spelled.count(word) >= 1 for word in words)
    assert "two hours" in PROMPT and "Tuesday" in result.text


def test_default_span_keeps_the_last_sentence_whole_and_unscored(model):
    loaded, size = model
    result = compress_prompt(loaded, PROMPT, 0.25, segment_size=size)
    outside = [token for token in result.tokens if not token.compressible]
    assert "".join(token.text for token in outside).strip() == "On which day did the keeper row to the mainland?"
    assert all(token.kept and token.loss is None for token in outside)
    assert result.text.endswith("On which day did the keeper row to the mainland?")
    assert result.segments[0][0] == 0 and result.segments[-1][1] == len(result.tokens) - len(outside)


def test_a_span_compresses_only_its_characters_and_the_rest_conditions_it(model):
    loaded, size = model
    start = PROMPT.index("In winter")
    result = compress_prompt(loaded, PROMPT, 0.5, span=(start, start + 60), segment_size=size)
    inside = "".join(token.text for token in result.tokens if token.compressible)
    assert inside.strip() == PROMPT[start : start + 60].strip()
    first = result.segments[0][0]
    assert first > 0 and all(token.kept and token.loss is None for token in result.tokens[:first])
    # The span's first token is predicted by the text before it, which is read whole.
    assert result.tokens[first].loss is not None


def test_budget_keeps_that_many_tokens_of_the_compressible_part(model):
    loaded, size = model
    result = compress_prompt(loaded, PROMPT, budget=30, segment_size=size)
    kept = sum(token.kept for token in result.tokens if token.compressible)
    compressible = sum(token.compressible for token in result.tokens)
    assert result.target == 30 / compressible and abs(kept - 30) <= len(result.segments)
    assert compress_prompt(loaded, PROMPT, budget=10**6, segment_size=size).ratio == 1.0


def test_chat_scores_the_message_after_the_template_and_returns_the_message_only(model):
    loaded, size = model
    chat = compress_prompt(loaded, PROMPT, 1.0, segment_size=size, chat=True)
    plain = compress_prompt(loaded, PROMPT, 1.0, segment_size=size, chat=False)
    assert chat.text == plain.text == PROMPT  # no template text in the compressed message
    assert chat.tokens[0].loss is not None  # the template's prefix predicts the message's first token
    assert [token.loss for token in chat.tokens[:3]] != [token.loss for token in plain.tokens[:3]]


def test_progress_is_reported_after_each_segment_and_the_record_round_trips(tiny_loaded):
    seen = []
    result = compress_prompt(tiny_loaded, PROMPT, 0.5, segment_size=50, progress=seen.append)
    assert len(seen) == len(result.segments) and seen[-1] == 1.0 and seen == sorted(seen)
    again = Compression.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": 1.5}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"budget": 0}, "budget"),
        ({"budget": 2.5}, "budget"),
        ({"span": (10, 5)}, "span"),
        ({"span": (0, 10**6)}, "span"),
        ({"span": (-1, 4)}, "span"),
        ({"span": (3, 3)}, "span"),
        ({"segment_size": 1}, "segment_size"),
        ({"force_tokens": [""]}, "force_tokens"),
        ({"force_tokens": "Tuesday"}, "force_tokens"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
    ],
)
def test_bad_knobs_raise_a_settings_error_naming_the_knob(tiny_loaded, knobs, field):
    args = {"prompt": PROMPT, **knobs}
    with pytest.raises(SettingsError) as caught:
        compress_prompt(tiny_loaded, args.pop("prompt"), **args)
    assert caught.value.field == field


def test_default_span_is_everything_but_the_last_sentence():
    assert default_span("One. Two! Three?") == (0, 10)
    assert default_span("Context line\nQuestion: why?\n") == (0, 13)
    assert default_span('He said "stop." Then what?') == (0, 16)
    assert default_span("A single sentence.") == (0, 18)
