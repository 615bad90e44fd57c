"""A greedy or sampling step reads the device once: its token and its record come over in one transfer.

On a GPU each read waits for the device to finish what it was given, so the step's reads are counted here, on
the tiny CPU model, by `HostReads`: the engine's reading helper is counted, and any read that bypasses it
(`int(token)`, `.tolist()`, a boolean-mask write, `.to("cpu")`) is named with its place.
"""

from __future__ import annotations

import pytest

from playground.engine import stream
from playground.settings import Settings
from tests.engine.host_reads import HostReads

PROMPT = "the cat sat on the mat"
EVERY_PROCESSOR = dict(repetition_penalty=1.3, no_repeat_ngram_size=3, min_new_tokens=2)
SAMPLING_FILTERS = dict(temperature=0.8, top_k=20, top_p=0.9, min_p=0.02, typical_p=0.95, seed=3)
CASES = {
    "greedy": dict(strategy="greedy"),
    "greedy-every-processor": dict(strategy="greedy", **EVERY_PROCESSOR),
    "sample": dict(strategy="sample", seed=1),
    "sample-every-filter": dict(strategy="sample", **EVERY_PROCESSOR, **SAMPLING_FILTERS),
    # Not eta_cutoff: transformers' EtaLogitsWarper builds a torch Categorical, whose argument check reads the
    # device once more, inside the processor we reuse.
    "sample-epsilon": dict(strategy="sample", epsilon_cutoff=0.001, seed=2),
    # Many samples in one batch: every row's draw comes over with the first sample's record.
    "sample-many": dict(strategy="sample", num_samples=4, **SAMPLING_FILTERS),
    "sample-many-stopping": dict(strategy="sample", num_samples=4, stop=tuple("aeiou"), seed=1),
}


def reads_per_update(loaded, settings: Settings, monkeypatch) -> list[list[str]]:
    """The reads made while the engine computes each Update of a run (the last one carries the trace)."""
    reads, per_update = HostReads(), []
    updates = stream(loaded, PROMPT, settings)
    with reads.watching(monkeypatch):
        for _ in updates:
            per_update.append(reads.take())
    return per_update


@pytest.mark.parametrize("name", CASES)
def test_a_step_reads_the_device_once(tiny_loaded, monkeypatch, name):
    settings = Settings(chat=False, max_new_tokens=6, **CASES[name])
    per_update = reads_per_update(tiny_loaded, settings, monkeypatch)
    steps = len(per_update) - 1
    assert steps >= 2
    # The first update also prefills the prompt, which reads nothing; the last one assembles the trace.
    assert per_update == [["read_values"]] * steps + [[]]


def test_a_beam_search_step_reads_the_device_once(tiny_loaded, monkeypatch):
    """The K candidates' scores, rows and tokens come over with the step's record. Beam search keeps its
    bookkeeping on the host by design, which a CPU run cannot tell from the model's device: only the reading
    helper's calls are counted."""
    settings = Settings(chat=False, max_new_tokens=5, strategy="beam", num_beams=3, **EVERY_PROCESSOR)
    per_update = reads_per_update(tiny_loaded, settings, monkeypatch)
    assert [reads.count("read_values") for reads in per_update] == [1] * (len(per_update) - 1) + [0]
    assert len(per_update) > 3


def test_a_read_that_bypasses_the_helper_is_caught(tiny_loaded, monkeypatch):
    """The watch is not blind: an `int(token)` in the step loop shows up, with its place."""
    from playground.engine import sampling

    chosen = sampling.choose_greedy

    def choose_and_read(scores, generator=None):
        token = chosen(scores, generator)
        int(token[0])
        return token

    monkeypatch.setattr(sampling, "choose_greedy", choose_and_read)
    per_update = reads_per_update(tiny_loaded, Settings(chat=False, max_new_tokens=3), monkeypatch)
    assert per_update[0][0].startswith("_local_scalar_dense at test_reads.py:")
    assert per_update[0][1:] == ["read_values"]
