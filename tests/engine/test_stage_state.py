"""The hooks of a stage that remembers, draws or notes (`engine/samplers/state.py`): every strategy and view calls
them at the points the protocol names, with the run's own generators, tokens and rows, and a stage's notes reach
the trace and survive its export. A probe stage that changes no score records what it was told."""

from __future__ import annotations

import pytest
import torch

from playground.engine import branch, compare, context, generate
from playground.engine.compare import compare_path
from playground.engine.mass import mass_tree
from playground.engine.samplers.state import StageState
from playground.settings import Settings
from playground.trace import Trace
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat"


class Probe(StageState):
    """Leaves the scores alone and keeps a log of every hook call; notes each row's calls and last token."""

    def __init__(self, log: list) -> None:
        self.log, self.calls, self.last = log, 0, []

    def start(self, generators):
        self.log.append(("start", None if generators is None else len(generators), generators))

    def __call__(self, input_ids, scores):
        self.calls += 1
        self.log.append(("call", scores.shape[0]))
        return scores

    def chosen(self, tokens):
        self.last = tokens.tolist()
        self.log.append(("chosen", self.last))

    def keep(self, rows):
        self.last = [self.last[r] for r in rows] if self.last else []  # the mass tree keeps before it chooses
        self.log.append(("keep", list(rows)))

    def resume(self, other):
        self.calls = other.calls
        self.log.append(("resume", other.calls))

    def notes(self, row):
        return {"calls": self.calls, "token": self.last[row]}


@pytest.fixture
def log(monkeypatch):
    """The probe's log; the probe joins every chain built, after its stages."""
    entries: list = []
    for module in (context, branch, compare):
        original = module.build_stages

        def with_probe(*args, original=original, **kwargs):
            return [*original(*args, **kwargs), ("probe", Probe(entries))]

        monkeypatch.setattr(module, "build_stages", with_probe)
    return entries


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=2, eos_boost=6.0), tiny_tokenizer)


def of(log: list, kind: str) -> list:
    return [entry[1:] for entry in log if entry[0] == kind]


def test_sampling_hands_the_run_generator_every_token_and_keeps_the_notes(tiny, log):
    settings = Settings(chat=False, strategy="sample", seed=3, max_new_tokens=6)
    trace = generate(tiny, PROMPT, settings)
    ((count, generators),) = of(log, "start")
    assert count == 1 and isinstance(generators[0], torch.Generator)
    assert [tokens for (tokens,) in of(log, "chosen")] == [[t] for t in trace.output.token_ids]
    assert [s.notes["probe"] for s in trace.steps] == [
        {"calls": i + 1, "token": t} for i, t in enumerate(trace.output.token_ids)
    ]
    again = Trace.from_dict(trace.to_dict())
    assert [s.notes for s in again.steps] == [s.notes for s in trace.steps]


def test_greedy_draws_nothing_and_still_notes(tiny, log):
    trace = generate(tiny, PROMPT, Settings(chat=False, max_new_tokens=3))
    assert of(log, "start") == [(None, None)]
    assert [s.notes["probe"]["calls"] for s in Trace.from_dict(trace.to_dict()).steps] == [1, 2, 3]


def test_a_run_without_such_stages_has_no_notes_key(tiny):
    trace = generate(tiny, PROMPT, Settings(chat=False, max_new_tokens=3))
    assert all(s.notes is None for s in trace.steps)
    assert all("notes" not in s for s in trace.to_dict()["steps"])


def test_sample_many_draws_each_row_with_its_seed_and_drops_the_ended_rows(tiny, log):
    settings = Settings(chat=False, strategy="sample", num_samples=8, seed=1, max_new_tokens=12)
    trace = generate(tiny, PROMPT, settings)
    ((count, generators),) = of(log, "start")
    assert count == 8
    # The generators are the samples', seeded seed + i: each draws what a fresh generator of that seed draws.
    fresh = torch.Generator().manual_seed(settings.seed + 5)
    assert generators[5].initial_seed() == fresh.initial_seed()
    kept = of(log, "keep")
    assert kept, "the EOS-boosted model ends some samples early"
    # Row by row, the tokens told are each going sample's next token.
    going, lengths = list(range(8)), [len(s.token_ids) for s in trace.samples.samples]
    steps = iter(of(log, "chosen"))
    for index in range(max(lengths)):
        (tokens,) = next(steps)
        assert tokens == [trace.samples.samples[s].token_ids[index] for s in going]
        left = [row for row, s in enumerate(going) if lengths[s] > index + 1]
        if index + 1 < max(lengths) and len(left) < len(going):
            assert kept.pop(0) == (left,)
            going = [going[row] for row in left]


def test_a_branch_replays_its_forced_tokens_and_the_strategy_carries_on(tiny, log):
    parent = generate(tiny, PROMPT, Settings(chat=False, max_new_tokens=5))
    forced = (*parent.output.token_ids[:2], 7)
    log.clear()
    trace = generate(tiny, PROMPT, Settings(chat=False, max_new_tokens=3, prefix_ids=forced))
    starts = of(log, "start")
    assert starts[0] == (None, None)  # the forced tokens are computed, not drawn
    assert of(log, "chosen")[:3] == [([t],) for t in forced]
    assert of(log, "resume") == [(3,)]  # the strategy's chain took over after the three forced calls
    assert [s.notes["probe"]["calls"] for s in trace.steps] == list(range(1, len(trace.steps) + 1))


def test_compare_follows_a_path_and_draws_nothing(tiny, log):
    a = Settings(chat=False, max_new_tokens=4)
    path = generate(tiny, PROMPT, a).output.token_ids
    prompt_ids = tiny.tokenizer(PROMPT)["input_ids"]
    log.clear()
    compare_path(tiny, a, tiny, a.replace(temperature=0.5, strategy="sample"), prompt_ids, path)
    assert of(log, "start") == [(None, None), (None, None)]  # one chain per side
    told = [tokens for (tokens,) in of(log, "chosen")]
    assert told == [[t] for t in path for _ in range(2)]


def test_the_mass_tree_gives_each_child_its_parent_state_then_its_token(tiny, log):
    settings = Settings(chat=False, strategy="sample", mass_depth=3, mass_threshold=0.01)
    mass_tree(tiny, PROMPT, settings)
    assert of(log, "start") == [(None, None)]
    calls, kept, chosen = of(log, "call"), of(log, "keep"), of(log, "chosen")
    assert len(kept) == len(chosen) == len(calls) - 1
    for (rows,), (tokens,), (batch,) in zip(kept, chosen, calls[1:], strict=True):
        assert len(rows) == len(tokens) == batch  # one row per child that goes on, its parent's index
