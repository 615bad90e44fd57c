"""What a linear draft's round records, on hand-built rounds: the verdict on every draft token (None for those
the target never tested, after the round's first rejection), and the target's own token with its p; and that
traces written before these were recorded still load."""

import json
from types import SimpleNamespace

import pytest
import torch

from playground.engine import generate
from playground.engine.speculative.chain import record_round, round_figures
from playground.engine.speculative.rounds import RoundEnd
from playground.engine.speculative.verification import Verdict
from playground.settings import Settings
from playground.trace import Emitted, Trace, round_verdicts

# Stands in for a run's context: a round's record reads only the tokens' texts from it.
CTX = SimpleNamespace(texts=lambda ids: [f"<{token}>" for token in ids])


def record(verdict: Verdict, proposed=(11, 12, 13, 14), lookup=None):
    g = len(proposed)
    p_x, q_x = [0.9, 0.008, 0.2, 0.3][:g], [0.5, 0.007, 0.1, 0.1][:g]
    return record_round(CTX, RoundEnd(5, verdict.accepted + 1, verdict, 0.4), list(proposed), 0.5, p_x, q_x, lookup)


def test_verdicts_are_kept_then_rejected_then_never_tested():
    assert round_verdicts(1, 4) == [True, False, None, None]
    assert round_verdicts(0, 2) == [False, None]
    assert round_verdicts(3, 3) == [True, True, True]
    assert round_verdicts(0, 0) == []


def test_draft_tokens_after_a_rejection_are_recorded_as_never_tested():
    r = record(Verdict(1, 20, "resampled"), lookup="template")
    assert [t.accepted for t in r.proposed] == [True, False, None, None]
    # The third token had p >= q but was never tested: the round ended at the second.
    assert r.proposed[2].p >= r.proposed[2].q and r.proposed[2].accepted is None
    assert r.accepted_count() == 1 and r.lookup == "template"


@pytest.mark.parametrize(
    "verdict", [Verdict(1, 20, "resampled"), Verdict(0, 21, "corrected"), Verdict(4, 22, "bonus")], ids=str
)
def test_every_round_records_the_targets_own_token_with_its_p(verdict):
    r = record(verdict)
    assert r.emitted == Emitted(id=verdict.token, text=f"<{verdict.token}>", kind=verdict.kind, p=0.4)
    assert r.accepted_count() == verdict.accepted


def test_a_round_that_proposed_nothing_still_records_the_targets_token():
    r = record(Verdict(0, 23, "bonus"), proposed=())
    assert r.proposed == [] and r.emitted.id == 23 and r.emitted.p == 0.4


def test_round_figures_read_the_targets_probability_of_its_own_token():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.25, 0.5]])  # (g + 1, V) with g = 2
    q = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # (g, V): prompt lookup's one-hot rows
    *_, p_token = round_figures([0, 1], p, q, Verdict(1, 2, "resampled"))
    assert float(p_token) == pytest.approx(0.6)  # row 1 (after the kept token), the target's token 2
    *_, p_bonus = round_figures([0, 1], p, q, Verdict(2, 0, "bonus"))
    assert float(p_bonus) == pytest.approx(0.25)


@pytest.fixture(scope="module")
def lookup_trace(tiny_tokenizer):
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", num_draft_tokens=4, max_new_tokens=24)
    return generate(loaded, "the cat sat on the mat and the cat", settings.replace(min_new_tokens=24))


def test_a_trace_round_trips_with_untested_tokens_the_targets_p_and_the_lookup_source(lookup_trace):
    data = json.loads(lookup_trace.to_json())
    rounds = data["speculative"]["rounds"]
    assert any(t["accepted"] is None for r in rounds for t in r["proposed"]), "some token should go untested"
    assert all(r["emitted"]["p"] > 0 for r in rounds)
    assert all(("lookup" in r) == bool(r["proposed"]) for r in rounds)
    again = Trace.from_json(lookup_trace.to_json())
    again.validate()
    assert again == lookup_trace


def test_an_older_trace_loads_its_tokens_after_a_rejection_as_never_tested(lookup_trace):
    data = json.loads(lookup_trace.to_json())
    for r in data["speculative"]["rounds"]:  # as traces were written before: False, no p, no source
        for t in r["proposed"]:
            t["accepted"] = bool(t["accepted"])
        del r["emitted"]["p"]
        r.pop("lookup", None)
    old = Trace.from_dict(data)
    old.validate()
    for r, new in zip(old.speculative.rounds, lookup_trace.speculative.rounds, strict=True):
        assert [t.accepted for t in r.proposed] == [t.accepted for t in new.proposed]
        assert r.emitted.p is None and r.lookup is None
    assert "p" not in old.to_dict()["speculative"]["rounds"][0]["emitted"]  # written back as it was read


def test_a_round_whose_verdicts_do_not_follow_the_rule_is_refused(lookup_trace):
    data = json.loads(lookup_trace.to_json())
    r = next(r for r in data["speculative"]["rounds"] if len(r["proposed"]) > 1)
    r["proposed"][0]["accepted"], r["proposed"][1]["accepted"] = None, True
    with pytest.raises(ValueError, match=r"proposed: accepted must be true up to the first rejected token"):
        Trace.from_dict(data).validate()
    r["proposed"][0]["accepted"], r["lookup"] = True, "elsewhere"
    with pytest.raises(ValueError, match=r"lookup must be one of prompt, template, output"):
        Trace.from_dict(data).validate()
