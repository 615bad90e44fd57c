"""Top-nσ against the paper's definition: an independent brute-force reference on random logits (Hypothesis),
worked examples that tell the population σ over the finite logits from the other readings, and the property the
paper claims: the kept set does not depend on temperature."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from playground.engine.processors import apply_stages, build_stages
from playground.engine.samplers.top_n_sigma import TopNSigmaLogitsWarper, top_n_sigma_filter
from playground.settings import Settings

INF = math.inf


def kept_by_definition(logits: list[float], n: float) -> tuple[set[int], float]:
    """Tang et al. 2024 in Python floats: keep i when logit_i >= max - n * σ, σ the population standard deviation
    of the finite logits. Returns the kept indices and the threshold."""
    finite = [x for x in logits if math.isfinite(x)]
    mean = math.fsum(finite) / len(finite)
    sigma = math.sqrt(math.fsum((x - mean) ** 2 for x in finite) / len(finite))
    threshold = max(finite) - n * sigma
    return {i for i, x in enumerate(logits) if math.isfinite(x) and x >= threshold}, threshold


def kept(scores: torch.Tensor) -> set[int]:
    """The indices of a (V,) row that are still finite."""
    return set(torch.isfinite(scores).nonzero().flatten().tolist())


logit = st.floats(-30, 30, allow_nan=False, width=32)
rows = st.lists(st.one_of(logit, logit, logit, st.just(-INF)), min_size=1, max_size=40).filter(
    lambda xs: any(math.isfinite(x) for x in xs)
)
sigmas = st.floats(0.01, 5.0)


@given(logits=rows, n=sigmas)
def test_the_kept_set_is_the_definitions(logits, n):
    scores = torch.tensor([logits], dtype=torch.float32)
    expected, threshold = kept_by_definition(logits, n)
    got = kept(top_n_sigma_filter(scores, n)[0])
    # float32 and exact arithmetic may disagree only for a logit on the threshold itself.
    near = {i for i, x in enumerate(logits) if math.isfinite(x) and abs(x - threshold) <= 1e-4 * (1 + abs(threshold))}
    assert got - near == expected - near


def test_sigma_is_the_population_one():
    # [0, 1, 2, 3, 4]: population σ = √2, so the cut at n = 1.3 sits at 4 - 1.84 = 2.16 and keeps 3 and 4; the
    # sample σ (√2.5) would put it at 1.94 and keep 2 as well.
    scores = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]])
    assert kept(top_n_sigma_filter(scores, 1.3)[0]) == {3, 4}


def test_removed_tokens_do_not_count_towards_sigma():
    # The finite logits 4, 3, 2 have σ = 0.82: n = 1 keeps only 4. Counting the five removed tokens as 0 (as
    # text-generation-webui does) would give σ = 1.64 and keep 3 too.
    scores = torch.tensor([[4.0, 3.0, 2.0] + [-INF] * 5])
    assert kept(top_n_sigma_filter(scores, 1.0)[0]) == {0}


def test_edge_rows_keep_the_top_and_leave_the_input_alone():
    scores = torch.tensor([[1.0, 1.0, 1.0], [5.0, -INF, -INF], [-INF, -INF, -INF], [0.0, -3.0, 2.0]])
    before = scores.clone()
    out = TopNSigmaLogitsWarper(0.5)(torch.zeros(4, 1, dtype=torch.long), scores)
    assert torch.equal(scores, before)  # never modified in place
    assert kept(out[0]) == {0, 1, 2}  # σ = 0: every token at the top stays
    assert kept(out[1]) == {0}  # one finite token: kept
    assert kept(out[2]) == set()  # nothing finite: nothing changes
    assert kept(out[3]) == {2}  # σ = 2.05; the top stays, the rest is below 2 - 1.03
    assert torch.equal(out[3, 2], scores[3, 2])  # a kept logit is unchanged


@given(logits=rows, n=sigmas, temperature=st.sampled_from([0.5, 1.5]))
def test_the_kept_set_does_not_depend_on_temperature(logits, n, temperature):
    scores = torch.tensor([logits], dtype=torch.float64)
    plain = top_n_sigma_filter(scores, n)
    # A temperature before it scales the maximum and σ alike; one after it removes nothing.
    threshold = kept_by_definition(logits, n)[1]
    near = {i for i, x in enumerate(logits) if math.isfinite(x) and abs(x - threshold) <= 1e-9 * (1 + abs(threshold))}
    assert kept(top_n_sigma_filter(scores / temperature, n)[0]) - near == kept(plain[0]) - near
    assert kept((plain / temperature)[0]) == kept(plain[0])


def test_the_chain_keeps_the_same_set_at_temperature_half_and_one_and_a_half():
    torch.manual_seed(0)
    scores = torch.randn(3, 200) * 3
    kept_sets = []
    for temperature in (0.5, 1.5):
        settings = Settings(strategy="sample", temperature=temperature, top_n_sigma=1.0, top_k=0)
        stages = build_stages(settings, prompt_len=1, eos_ids=[0], device=torch.device("cpu"))
        assert [name for name, _ in stages] == ["temperature", "top_n_sigma"]
        kept_sets.append(torch.isfinite(apply_stages(stages, torch.zeros(3, 1, dtype=torch.long), scores)[-1][1]))
    assert torch.equal(*kept_sets) and 0 < int(kept_sets[0].sum()) < 600


def test_rows_are_filtered_independently():
    torch.manual_seed(1)
    scores = torch.randn(4, 50) * torch.tensor([[0.5], [1.0], [3.0], [10.0]])
    together = top_n_sigma_filter(scores, 1.0)
    for r in range(4):
        assert torch.equal(together[r : r + 1], top_n_sigma_filter(scores[r : r + 1], 1.0))


@pytest.mark.parametrize("n", [0.0, -1.0, 1])
def test_the_warper_takes_only_a_positive_float(n):
    with pytest.raises(ValueError, match="n_sigma"):
        TopNSigmaLogitsWarper(n)


def test_each_row_notes_what_it_kept_and_where_it_cut():
    # Row 0: [0, 1, 2, 3, 4] has σ = √2, so n = 1.3 cuts at 4 - 1.3√2 = 2.16 and keeps 3 and 4. Row 1: the finite
    # 4, 3, 2 have σ = 0.816, n = 1.3 cuts at 2.94 and keeps 4 and 3. Row 2 has nothing finite: no note.
    scores = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, -INF, -INF], [-INF] * 5])
    warper = TopNSigmaLogitsWarper(1.3)
    assert warper.notes(0) is None  # before any call
    warper(torch.zeros(3, 1, dtype=torch.long), scores)
    for row, logits in enumerate(([0.0, 1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, -INF, -INF])):
        expected, threshold = kept_by_definition(logits, 1.3)
        note = warper.notes(row)
        assert note["kept"] == len(expected) == 2 and note["top"] == 4.0
        assert note["cutoff"] == pytest.approx(threshold, abs=1e-6)
        assert note["sigma"] == pytest.approx((4.0 - threshold) / 1.3, abs=1e-6)
    assert warper.notes(2) is None
    warper.keep([1, 1])  # the rows that go on (the mass tree repeats one): their notes follow them
    assert warper.notes(0) == warper.notes(1) and warper.notes(0)["cutoff"] == pytest.approx(2.9386, abs=1e-4)
