"""Many samples in one batch: each sample is the single run its seed gives, the same seed gives the same
samples, finished samples leave the batch, and the first tokens follow the model's final distribution."""

import dataclasses

import pytest
import torch

from playground.engine import generate
from playground.engine.compare import distributions
from playground.settings import Limits, Settings, SettingsError
from tests.chi_square import assert_follows
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat"


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    # EOS boosted: some samples end early, so rows leave the batch mid-run.
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=2, eos_boost=6.0), tiny_tokenizer)


MANY = [
    Settings(chat=False, strategy="sample", num_samples=12, seed=5, max_new_tokens=10),
    Settings(chat=False, strategy="sample", num_samples=9, seed=100, temperature=0.7, top_k=8, top_p=0.9,
             repetition_penalty=1.3, max_new_tokens=12),
    Settings(chat=False, strategy="sample", num_samples=6, seed=0, min_p=0.05, no_repeat_ngram_size=2,
             min_new_tokens=3, max_new_tokens=8, stop=("e",)),
]  # fmt: skip


@pytest.mark.parametrize("settings", MANY, ids=["plain", "filters+penalty", "min-p+ngram+stop"])
def test_each_sample_is_the_single_run_of_its_seed(tiny, settings):
    trace = generate(tiny, PROMPT, settings)
    samples = trace.samples.samples
    assert [s.seed for s in samples] == [settings.seed + i for i in range(settings.num_samples)]
    for sample in samples:
        alone = generate(tiny, PROMPT, settings.replace(num_samples=1, seed=sample.seed))
        assert sample.token_ids == alone.output.token_ids and sample.stop_reason == alone.output.stop_reason
        assert sample.text == alone.output.text
        assert sample.probs == pytest.approx([step.chosen.prob for step in alone.steps], abs=1e-6)
    # The trace's own steps are the first sample's, recorded in full, as its single run records them.
    first = generate(tiny, PROMPT, settings.replace(num_samples=1))
    assert trace.output.token_ids == first.output.token_ids
    assert [[c.id for c in s.candidates] for s in trace.steps] == [[c.id for c in s.candidates] for s in first.steps]
    assert {int(k) for k in trace.samples.texts} == {t for s in samples for t in s.token_ids}
    assert trace.timing.new_tokens == sum(len(s.token_ids) for s in samples)


def _ids(tiny, text: str) -> tuple[int, ...]:
    return tuple(tiny.tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    ("prefix", "stop"),
    [(" on a", ()), (" on", ("n",)), (" t<eos>", ())],
    ids=["plain", "prefix-hits-stop", "prefix-ends-in-eos"],
)
def test_each_sample_from_a_prefix_is_the_single_run_of_that_prefix_and_seed(tiny, prefix, stop):
    prefix_ids = _ids(tiny, prefix)
    settings = Settings(chat=False, strategy="sample", num_samples=6, seed=11, max_new_tokens=8, top_k=20,
                        repetition_penalty=1.2, stop=stop, prefix_ids=prefix_ids)  # fmt: skip
    trace = generate(tiny, PROMPT, settings)
    assert trace.output.token_ids[: len(prefix_ids)] == list(prefix_ids)
    for sample in trace.samples.samples:
        alone = generate(tiny, PROMPT, settings.replace(num_samples=1, seed=sample.seed))
        assert sample.token_ids == alone.output.token_ids and sample.stop_reason == alone.output.stop_reason
        assert sample.text == alone.output.text
        assert sample.probs == pytest.approx([step.chosen.prob for step in alone.steps], abs=1e-6)
    assert {int(k) for k in trace.samples.texts} == {t for s in trace.samples.samples for t in s.token_ids}
    if prefix_ids[-1] == tiny.tokenizer.eos_token_id or stop:  # nothing is left to decide after the forced text
        assert all(s.token_ids == list(prefix_ids) for s in trace.samples.samples)


def test_finished_samples_leave_the_batch(tiny):
    settings = Settings(chat=False, strategy="sample", num_samples=16, seed=1, max_new_tokens=20)
    trace = generate(tiny, PROMPT, settings)
    lengths = [len(s.token_ids) for s in trace.samples.samples]
    assert min(lengths) < max(lengths), "the EOS-boosted model ends some samples early"
    assert trace.samples.forward_passes == max(lengths)  # the prompt once, then one pass per step while any goes
    ended = [s for s in trace.samples.samples if s.stop_reason == "eos"]
    assert ended and all(s.token_ids[-1] == tiny.tokenizer.eos_token_id for s in ended)
    again = generate(tiny, PROMPT, settings)
    assert [s.token_ids for s in again.samples.samples] == [s.token_ids for s in trace.samples.samples]


def test_first_tokens_follow_the_final_distribution(tiny):
    count = 2000
    limits = dataclasses.replace(Limits(), max_samples=count)
    settings = Settings(chat=False, strategy="sample", num_samples=count, temperature=1.4, top_k=20, seed=7,
                        max_new_tokens=1, limits=limits)  # fmt: skip
    trace = generate(tiny, PROMPT, settings)
    counts = torch.zeros(tiny.info.vocab_size)
    for sample in trace.samples.samples:
        counts[sample.token_ids[0]] += 1
    (p,) = next(distributions(tiny, [settings], trace.prompt.token_ids, [0]))
    assert_follows(counts, p)  # top-k's removed tokens among those never drawn


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        (dict(num_samples=4), "num_samples above 1 needs the sample strategy"),
        (dict(strategy="sample", num_samples=129), "num_samples must be"),
        (dict(strategy="sample", num_samples=4, max_new_tokens=65), "at most 64 with num_samples above 1"),
    ],
)
def test_bad_many_settings_name_the_field(knobs, message):
    with pytest.raises(SettingsError, match=message):
        Settings(**knobs)


def test_stop_keeps_the_samples_made_so_far(tiny):
    import threading

    from playground.engine import stream

    cancel = threading.Event()
    settings = Settings(chat=False, strategy="sample", num_samples=8, seed=3, max_new_tokens=40, min_new_tokens=40)
    for count, update in enumerate(stream(tiny, PROMPT, settings, cancel=cancel), start=1):
        if count == 5:
            cancel.set()  # as the page's Stop does, from another thread
        trace = update.trace
    samples = trace.samples.samples
    assert all(s.stop_reason == "cancelled" and len(s.token_ids) == 5 for s in samples)
    assert trace.output.stop_reason == "cancelled" and len(trace.steps) == 5
    full = generate(tiny, PROMPT, settings)  # what was kept is the start of what the run would have made
    assert [s.token_ids for s in samples] == [s.token_ids[:5] for s in full.samples.samples]
