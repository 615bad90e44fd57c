"""Mirostat against references written here from the paper's Algorithm 1 and llama.cpp's samplers (a sorted
candidate list walked in plain floats), on random logits and mu (Hypothesis); the mu update; and the stage's state
per row as the engine moves it (rows that leave or repeat, a chain that carries on from another), each against a
replay written here."""

import math

import pytest
import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from playground.engine.samplers.mirostat import (
    MirostatLogitsWarper,
    v1_k,
    v2_keep,
    zipf_exponent,
)

INF = math.inf
NOTHING = torch.zeros(1, 1, dtype=torch.long)  # the ids mirostat never reads


def candidates(logits: list[float]) -> list[tuple[int, float]]:
    """llama.cpp's sorted candidate list: (token, p) of every finite logit, most probable first (a tie keeps
    the token order), p = softmax over the finite logits in float64."""
    finite = [(i, x) for i, x in enumerate(logits) if math.isfinite(x)]
    top = max(x for _, x in finite)
    total = math.fsum(math.exp(x - top) for _, x in finite)
    ranked = sorted(finite, key=lambda pair: -pair[1])
    return [(i, math.exp(x - top) / total) for i, x in ranked]


def reference_v2(logits: list[float], mu: float) -> set[int]:
    """llama_sampler_mirostat_v2's cut: walk the sorted candidates until one's -log2 p exceeds mu; keep at least
    the first."""
    cands = candidates(logits)
    size = next((n for n, (_, p) in enumerate(cands) if -math.log2(p) > mu), len(cands))
    return {i for i, _ in cands[: max(size, 1)]}


def reference_s(logits: list[float], m: int = 100) -> float:
    """The paper's eq. 30 as llama.cpp loops it: i from 0 while i < m - 1 and i < size - 1."""
    cands = candidates(logits)
    num = den = 0.0
    for i in range(min(m - 1, len(cands) - 1)):
        t = math.log((i + 2) / (i + 1))
        num += t * math.log(cands[i][1] / cands[i + 1][1])
        den += t * t
    return num / den


def reference_k(s: float, mu: float, n: int) -> float:
    """k = (eps * 2^mu / (1 - n^-eps)) ^ (1 / s), eps = s - 1, as written (before rounding)."""
    eps = s - 1
    return ((eps * 2**mu) / (1 - n ** (-eps))) ** (1 / s)


def reference_v1(logits: list[float], k: int) -> set[int]:
    """The top k candidates, and any whose logit ties the k-th's (our top-k keeps ties, as transformers' does)."""
    cands = candidates(logits)
    kth = logits[cands[min(k, len(cands)) - 1][0]]
    return {i for i, _ in cands if logits[i] >= kth}


def kept(row: torch.Tensor) -> set[int]:
    return set(torch.isfinite(row).nonzero().flatten().tolist())


logit = st.floats(-30, 30, allow_nan=False, width=32)
rows = st.lists(st.one_of(logit, logit, logit, st.just(-INF)), min_size=1, max_size=150).filter(
    lambda xs: any(math.isfinite(x) for x in xs)
)
mus = st.floats(-2.0, 25.0)


@given(logits=rows, mu=mus)
def test_the_v2_cut_is_llama_cpps(logits, mu):
    # A token whose surprise sits on mu itself may fall either way between float32 logits and Python's floats.
    assume(all(abs(-math.log2(p) - mu) > 1e-9 for _, p in candidates(logits)))
    scores = torch.tensor([logits], dtype=torch.float32)
    keep = v2_keep(scores, torch.tensor([mu], dtype=torch.float64))
    assert kept(scores.masked_fill(~keep, -INF)[0]) == reference_v2(logits, mu)


@given(logits=rows, mu=mus)
@example(logits=[0.0, 1.0], mu=5e-324)  # a mu whose half underflows to 0 once made the warper refuse its tau
def test_the_v1_cut_is_the_papers_top_k(logits, mu):
    scores = torch.tensor([logits], dtype=torch.float32)
    s = zipf_exponent(scores)
    if len(candidates(logits)) < 2:  # nothing to fit: the one candidate stays
        assert math.isnan(s.item()) and v1_k(s, torch.tensor([mu], dtype=torch.float64), len(logits)).item() == 1
        return
    expected_s = reference_s(logits)
    assert s.item() == pytest.approx(expected_s, rel=1e-9, abs=1e-12)
    assume(expected_s > 1e-3 and abs(expected_s - 1) > 1e-6)  # the formula's two singular points
    try:
        k = reference_k(expected_s, mu, len(logits))
    except OverflowError:
        k = INF
    assume(not math.isfinite(k) or abs(k - round(k)) > 1e-6 * max(k, 1))  # no rounding on a knife's edge
    whole = min(max(int(k), 1), len(logits)) if math.isfinite(k) else len(logits)
    got = v1_k(s, torch.tensor([mu], dtype=torch.float64), len(logits))
    assert got.item() == whole
    warper = MirostatLogitsWarper(1, tau=1.0, eta=0.1)  # tau only sets the first mu, which the test sets itself
    warper.mu = torch.tensor([mu], dtype=torch.float64)
    assert kept(warper(NOTHING, scores)[0]) == reference_v1(logits, whole)


def test_v1_keeps_more_as_mu_grows_on_a_zipf_distribution():
    # p_i proportional to 1 / i**1.2: the fit finds s = 1.2 exactly, and a bigger mu lets more tokens through.
    logits = torch.tensor([[-1.2 * math.log(i) for i in range(1, 1001)]], dtype=torch.float64)
    s = zipf_exponent(logits)
    assert s.item() == pytest.approx(1.2, rel=1e-9)
    ks = [v1_k(s, torch.tensor([mu], dtype=torch.float64), 1000).item() for mu in (2.0, 4.0, 6.0, 8.0)]
    assert ks == sorted(ks) and ks[0] < ks[-1]
    assert ks[1] == int(reference_k(1.2, 4.0, 1000))


def test_edge_rows():
    scores = torch.tensor([[1.0, 1.0, 1.0, 1.0], [5.0, -INF, -INF, -INF], [0.0, -1.0, -2.0, -30.0]])
    mu = torch.tensor([0.5, 0.0, -3.0], dtype=torch.float64)
    keep = v2_keep(scores, mu)
    assert keep.tolist()[0] == [True, False, False, False]  # every token 2 bits > 0.5: the top one stays
    assert keep.tolist()[1] == [True, False, False, False]  # p = 1 is 0 bits
    assert keep.tolist()[2] == [True, False, False, False]  # a negative mu keeps only the top
    s = zipf_exponent(scores)
    assert s[0].item() == 0.0 and math.isnan(s[1].item())
    # A flat top (s = 0) fits no Zipf law: k is all or one, by whether 2^mu beats the vocabulary.
    assert v1_k(s, torch.tensor([10.0, 1.0, 1.0], dtype=torch.float64), 4).tolist()[:2] == [4, 1]


def test_the_update_follows_the_surprise_and_skips_an_impossible_token():
    warper = MirostatLogitsWarper(2, tau=2.0, eta=0.5)
    scores = torch.log(torch.tensor([[0.5, 0.25, 0.25, 0.0]], dtype=torch.float64))
    out = warper(NOTHING, scores)
    assert kept(out[0]) == {0, 1, 2}  # mu = 4: the 2-bit tokens stay, the impossible one cannot
    warper.chosen(torch.tensor([1]))  # 2 bits: on target, mu stays 4
    assert warper.notes(0) == pytest.approx(dict(mu=4.0, kept=3, surprise=2.0, mu_after=4.0), abs=1e-12)
    warper(NOTHING, scores)
    warper.chosen(torch.tensor([0]))  # 1 bit: below target, mu rises by 0.5
    assert warper.mu.item() == pytest.approx(4.5, abs=1e-12)
    warper(NOTHING, scores)
    warper.chosen(torch.tensor([3]))  # probability 0 (a forced token): mu stays
    note = warper.notes(0)
    assert note["surprise"] is None and note["mu_after"] == note["mu"] == pytest.approx(4.5, abs=1e-12)


def test_the_input_is_left_alone_and_a_kept_logit_unchanged():
    scores = torch.randn(2, 30, generator=torch.Generator().manual_seed(0)) * 3
    before = scores.clone()
    for version in (1, 2):
        out = MirostatLogitsWarper(version, tau=2.0, eta=0.1)(NOTHING.expand(2, 1), scores)
        assert torch.equal(scores, before)
        assert torch.equal(out[torch.isfinite(out)], scores[torch.isfinite(out)])


def replayed(rows: list[list[float]], tokens: list[int], tau: float, eta: float) -> list[float]:
    """mu along one row's path, written out: start at 2 tau, move by eta * (-log2 p(token) - tau) per step."""
    mu, seen = 2 * tau, []
    for logits, token in zip(rows, tokens, strict=True):
        seen.append(mu)
        p = dict(candidates(logits))[token]
        mu -= eta * (-math.log2(p) - tau)
    return [*seen, mu]


STEPS = torch.randn(4, 3, 40, generator=torch.Generator().manual_seed(1)) * 2  # (steps, rows, V)


@pytest.mark.parametrize("version", [1, 2])
def test_rows_that_leave_or_repeat_keep_their_own_mu(version):
    """Sample many drops rows; the mass tree repeats a row as several children, each its parent's mu, then its
    own token. Every row's mu is the replay of its own path."""
    warper = MirostatLogitsWarper(version, tau=2.0, eta=0.3)
    paths = [[0], [1], [2]]  # each live row's rows of STEPS, step by step
    tokens: list[list[int]] = [[], [], []]
    schedule = [[0, 1, 2], [2, 0], [0, 0, 1]]  # the rows that go on after each step
    for step, going in enumerate([*schedule, None]):
        scores = torch.stack([STEPS[step, path[-1]] for path in paths])
        warper(NOTHING.expand(len(paths), 1), scores)
        picks = [int(torch.isfinite(warper.last.scores[r]).nonzero()[step % 3]) for r in range(len(paths))]
        warper.chosen(torch.tensor(picks))
        for r, pick in enumerate(picks):
            tokens[r].append(pick)
        for r, path in enumerate(paths):
            expected = replayed([STEPS[i, p].tolist() for i, p in enumerate(path)], tokens[r], 2.0, 0.3)
            assert warper.notes(r)["mu_after"] == pytest.approx(expected[-1], abs=1e-9)
        if going is not None:
            warper.keep(going)
            paths = [[*paths[r], (r + step) % 3] for r in going]
            tokens = [list(tokens[r]) for r in going]


def test_a_chain_that_resumes_carries_on_with_the_earlier_mu():
    earlier = MirostatLogitsWarper(2, tau=1.5, eta=0.2)
    for step in range(2):
        earlier(NOTHING, STEPS[step, :1])
        earlier.chosen(torch.tensor([step]))
    later = MirostatLogitsWarper(2, tau=1.5, eta=0.2)
    later.resume(earlier)
    later(NOTHING, STEPS[2, :1])
    expected = replayed([STEPS[i, 0].tolist() for i in range(2)], [0, 1], 1.5, 0.2)
    later.chosen(torch.tensor([3]))
    assert later.notes(0)["mu"] == pytest.approx(expected[-1], abs=1e-12)


@pytest.mark.parametrize(("version", "tau", "eta"), [(3, 5.0, 0.1), (2, 0.0, 0.1), (1, 5.0, 0.0), (2, 5.0, 1.5)])
def test_the_warper_refuses_values_out_of_range(version, tau, eta):
    with pytest.raises(ValueError, match=r"`(version|tau|eta)`"):
        MirostatLogitsWarper(version, tau, eta)
