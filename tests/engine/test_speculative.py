"""Speculative decoding end to end on tiny random models: greedy equals plain greedy, sampling is lossless,
caches roll back correctly, and runs stop where plain decoding stops."""

import statistics
import threading

import pytest
import torch

from playground import engine
from playground.engine import speedup_timing
from playground.engine.forward import forward_tokens, new_cache, rollback
from playground.models import load_model
from playground.settings import Settings, SettingsError
from playground.trace import Trace
from tests.chi_square import assert_follows
from tests.helpers import run as generate
from tests.tiny import CHARS, make_tiny_tokenizer, save_tiny_model

PROMPT = "the cat sat on the mat and the cat"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, tiny_tokenizer):
    base = tmp_path_factory.mktemp("speculative")
    return {
        "target": save_tiny_model(base / "target", tiny_tokenizer, seed=0, eos_boost=1.0),
        "other": save_tiny_model(base / "other", tiny_tokenizer, seed=5, eos_boost=1.0, sharpen=30.0),
        "eager": save_tiny_model(base / "eager", tiny_tokenizer, seed=1, eos_boost=12.0),
        "foreign": save_tiny_model(base / "foreign", make_tiny_tokenizer(list(reversed(CHARS))), seed=0),
    }


def speculative(**knobs) -> Settings:
    return Settings(
        **{
            "strategy": "speculative",
            "chat": False,
            "max_new_tokens": 40,
            "draft_model": None,
            "draft_precision": "fp32",
            **knobs,
        }
    )


@pytest.mark.parametrize(
    "knobs",
    [
        dict(),  # the target's own weights as draft: everything accepted
        dict(draft_model="other"),  # a different model: many rejections
        dict(draft_model="other", num_draft_tokens=1),
        dict(draft_model="other", num_draft_tokens=7, draft_schedule="adaptive"),
        dict(draft_model="prompt-lookup", prompt_lookup_ngram=2),
        dict(draft_model="other", repetition_penalty=1.3, no_repeat_ngram_size=3),
        dict(draft_precision="bf16"),
    ],
    ids=str,
)
def test_greedy_output_equals_plain_greedy(dirs, knobs):
    target = load_model(dirs["target"], "fp32")
    if knobs.get("draft_model") == "other":
        knobs = {**knobs, "draft_model": dirs["other"]}
    plain_knobs = {k: v for k, v in knobs.items() if k in ("repetition_penalty", "no_repeat_ngram_size")}
    plain = generate(target, PROMPT, Settings(chat=False, max_new_tokens=40, **plain_knobs))
    trace = generate(target, PROMPT, speculative(**knobs))
    assert trace.output.token_ids == plain.output.token_ids
    assert trace.output.stop_reason == plain.output.stop_reason
    assert [s.chosen.id for s in trace.steps] == trace.output.token_ids
    spec = trace.speculative
    assert sum(r.tokens for r in spec.rounds) == len(trace.output.token_ids)
    assert spec.target_calls == len(spec.rounds)
    if not knobs:  # the target's own weights draft: every proposal is accepted
        assert spec.acceptance_rate == 1.0 and spec.target_calls < len(trace.output.token_ids) / 2
        draft = {"source": "model", "id": dirs["target"], "precision": "fp32"}
        assert trace.to_dict()["speculative"]["draft"] == draft  # the exported keys: no prompt-lookup ngram
    proposed = sum(r.num_draft_tokens for r in spec.rounds)
    accepted = sum(r.accepted_count() for r in spec.rounds)
    assert spec.acceptance_rate == pytest.approx(accepted / proposed if proposed else 0.0)


def test_a_draft_with_another_tokenizer_is_refused(dirs):
    target = load_model(dirs["target"], "fp32")
    with pytest.raises(SettingsError, match="does not share the target's tokenizer"):
        generate(target, PROMPT, speculative(draft_model=dirs["foreign"]))
    with pytest.raises(SettingsError, match="draft_model cannot be loaded: No model directory"):
        generate(target, PROMPT, speculative(draft_model="./no/such/draft"))
    assert not target.lock.locked()


def test_the_engine_loads_no_draft_itself(dirs):
    import playground.engine

    target = load_model(dirs["target"], "fp32")
    with pytest.raises(ValueError, match="needs the draft model"):
        playground.engine.generate(target, PROMPT, speculative(draft_model=dirs["other"]))
    lookup = playground.engine.generate(target, PROMPT, speculative(draft_model="prompt-lookup"))
    assert lookup.speculative.draft_calls == 0


def test_eos_inside_an_accepted_run_ends_there(dirs):
    eager = load_model(dirs["eager"], "fp32")
    plain = generate(eager, PROMPT, Settings(chat=False, max_new_tokens=40))
    trace = generate(eager, PROMPT, speculative(num_draft_tokens=6))
    assert plain.output.stop_reason == trace.output.stop_reason == "eos"
    assert trace.output.token_ids == plain.output.token_ids
    assert trace.speculative.rounds[-1].proposed, "EOS should arrive inside a round of proposals"


@pytest.mark.parametrize("max_new_tokens", [1, 2, 5, 9])
def test_max_new_tokens_reached_mid_round_is_exact(dirs, max_new_tokens):
    target = load_model(dirs["target"], "fp32")
    knobs = dict(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens)
    plain = generate(target, PROMPT, Settings(chat=False, **knobs))
    trace = generate(target, PROMPT, speculative(num_draft_tokens=4, **knobs))
    assert trace.output.token_ids == plain.output.token_ids and len(trace.output.token_ids) == max_new_tokens


def test_rollback_leaves_a_cache_as_if_the_rejected_tokens_never_came(dirs):
    model = load_model(dirs["target"], "fp32").model
    prefix, rejected, instead = [5, 6, 7, 8], [9, 10, 11], [12, 13]
    cache = new_cache(model)
    forward_tokens(model, prefix + rejected, cache)
    rollback(cache, len(prefix))
    assert cache.get_seq_length() == len(prefix)
    after_rollback = forward_tokens(model, instead, cache)
    fresh = forward_tokens(model, prefix + instead, new_cache(model))[-len(instead) :]
    torch.testing.assert_close(after_rollback, fresh, rtol=1e-5, atol=1e-5)


def test_seeded_sampling_is_reproducible(dirs):
    target = load_model(dirs["target"], "fp32")
    knobs = dict(do_sample=True, draft_model=dirs["other"], seed=4, temperature=0.9)
    first = generate(target, PROMPT, speculative(**knobs))
    assert generate(target, PROMPT, speculative(**knobs)).output.token_ids == first.output.token_ids
    kinds = {r.emitted.kind for r in first.speculative.rounds}
    assert kinds <= {"bonus", "resampled"}


def test_sampled_tokens_follow_the_targets_distribution(dirs):
    """With a draft that disagrees with the target, the first token of many seeded runs is distributed as the
    target's own next-token distribution (chi-square, rare tokens pooled)."""
    target = load_model(dirs["target"], "fp32")
    runs = 1500
    counts = torch.zeros(target.info.vocab_size)
    for seed in range(runs):
        settings = speculative(do_sample=True, draft_model=dirs["other"], seed=seed, top_k=0, max_new_tokens=2)
        counts[generate(target, PROMPT, settings).output.token_ids[0]] += 1
    ids = target.tokenizer(PROMPT)["input_ids"]
    p = torch.softmax(forward_tokens(target.model, ids, new_cache(target.model))[-1], dim=-1)
    assert_follows(counts, p)


def test_measured_speedup_times_plain_and_speculative_decoding_alternately(tiny_loaded, monkeypatch):
    """Three pairs by default: the run itself, then plain, speculative, plain, speculative, plain, each of as many
    tokens; the trace keeps the pairs, their median speed-up and plain decoding's median rate."""
    settings = Settings(
        strategy="speculative", chat=False, max_new_tokens=20, min_new_tokens=20, draft_model="prompt-lookup"
    )
    plain = generate(tiny_loaded, PROMPT, settings)
    assert plain.speculative.speedup is None  # off unless asked: benchmarks time the run alone
    assert "speedup" not in plain.to_dict()["speculative"] and "speedup_pairs" not in plain.to_dict()["speculative"]
    timings = []

    def recorded(strategy):
        def run(ctx):
            timings.append((ctx.settings.strategy, ctx.settings.max_new_tokens))
            yield from strategy(ctx)

        return run

    monkeypatch.setitem(engine._STRATEGIES, "speculative", recorded(engine._STRATEGIES["speculative"]))
    monkeypatch.setattr(speedup_timing, "decode_tokens", recorded(speedup_timing.decode_tokens))
    trace = generate(tiny_loaded, PROMPT, settings.replace(measure_speedup=True))
    assert timings == [("speculative", 20), ("greedy", 20)] * 3
    spec = trace.speculative
    assert trace.output.token_ids == plain.output.token_ids  # measuring changes nothing in the run itself
    assert len(spec.speedup_pairs) == 3
    assert spec.speedup_pairs[0].speculative_tokens_per_s == pytest.approx(20 / trace.timing.decode_s)
    assert spec.speedup == statistics.median(pair.speedup for pair in spec.speedup_pairs)
    assert spec.plain_tokens_per_s == statistics.median(pair.plain_tokens_per_s for pair in spec.speedup_pairs)
    assert Trace.from_json(trace.to_json()).speculative.speedup_pairs == spec.speedup_pairs
    timings.clear()
    one = generate(tiny_loaded, PROMPT, settings.replace(measure_speedup=True, speedup_pairs=1))
    assert timings == [("speculative", 20), ("greedy", 20)] and len(one.speculative.speedup_pairs) == 1


def test_the_speedup_timings_say_what_runs_after_the_last_step(tiny_loaded):
    """The timings come after the run's last step and take as long as five runs: each says which it is, before
    the trace, with the run's text."""
    settings = Settings(strategy="speculative", chat=False, max_new_tokens=12, min_new_tokens=12,
                        draft_model="prompt-lookup", measure_speedup=True)  # fmt: skip
    updates = list(engine.stream(tiny_loaded, PROMPT, settings))
    notes = [u for u in updates if u.note is not None]
    assert [u.note for u in notes] == [
        f"Measuring the speed-up: timing {kind} decoding, {n} of 6"
        for n, kind in zip(range(2, 7), ["plain", "speculative", "plain", "speculative", "plain"], strict=True)
    ]
    first = updates.index(notes[0])
    assert all(u.step is not None for u in updates[:first]) and len(updates[:first]) == 12
    assert updates[first : first + 5] == notes and updates[-1].trace is not None and len(updates) == first + 6
    assert {u.text for u in notes} == {updates[-1].text} and all(u.step is None for u in notes)


def test_measuring_the_speedup_of_a_model_draft_reruns_it_after_its_lock_is_free(dirs):
    """A draft model serves one run at a time (its lock): the timings rerun the strategy once the run has let the
    draft go, not while the run still holds it (which waited forever)."""
    target = load_model(dirs["target"], "fp32")
    settings = speculative(draft_model=dirs["other"], max_new_tokens=10, min_new_tokens=10, measure_speedup=True)
    finished: list[Trace] = []
    worker = threading.Thread(target=lambda: finished.append(generate(target, PROMPT, settings)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert finished, "measuring the speed-up of a model draft never finished"
    assert len(finished[0].speculative.speedup_pairs) == 3


def test_a_trace_from_before_speedup_pairs_loads_with_its_one_reading(tiny_loaded):
    settings = Settings(strategy="speculative", chat=False, max_new_tokens=6, draft_model="prompt-lookup")
    data = generate(tiny_loaded, PROMPT, settings.replace(measure_speedup=True, speedup_pairs=1)).to_dict()
    del data["speculative"]["speedup_pairs"], data["settings"]["speedup_pairs"]
    old = Trace.from_dict(data)
    old.validate()
    assert old.speculative.speedup_pairs is None and old.speculative.speedup > 0
    assert "speedup_pairs" not in old.to_dict()["speculative"]
