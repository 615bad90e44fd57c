"""Colour by: the bands of each mode on hand-built figures, GLTR buckets against ranks from a full-vocabulary
softmax computed here, the prompt's figures against a teacher-forced pass computed here, and traces written before
the figures were recorded."""

import html
import math
import re

import pytest
import torch

from playground.engine import generate
from playground.engine.prompt_figures import prompt_figures
from playground.settings import Settings
from playground.trace import Chosen, Step, Trace
from playground.ui.colour_by import (
    LEGEND_TEXT,
    MODES,
    colour_classes,
    gltr_bucket,
    legends,
    surprisal_bits,
)
from playground.ui.prompt_colour import prompt_html
from playground.ui.tokens import trace_html


def test_gltr_buckets_are_top_10_100_1000_and_beyond():
    ranks = (1, 10, 11, 100, 101, 1000, 1001, 49152, None)
    assert [gltr_bucket(r) for r in ranks] == ["r0", "r0", "r1", "r1", "r2", "r2", "r3", "r3", "nr"]


def test_each_mode_has_its_band_and_surprisal_is_minus_log2_p():
    assert surprisal_bits(0.5) == 1.0 and surprisal_bits(1 / 1024) == 10.0 and surprisal_bits(0.0) == math.inf
    assert colour_classes(0.95, 3, 0.2) == "p4 r0 e0 s0"
    assert colour_classes(0.3, 50, 1.0) == "p2 r1 e1 s1"  # 1.74 bits
    assert colour_classes(0.1, 500, 2.0) == "p1 r2 e2 s2"  # 3.32 bits
    assert colour_classes(0.001, 5000, 4.0) == "p0 r3 e3 s3"  # 9.97 bits
    assert colour_classes(0.0005, None, 4.0) == "p0 nr-rank e3 s4"  # 10.97 bits, the rank not recorded
    assert colour_classes(0.0, 30_000, 9.0) == "p0 r3 e3 s4"  # p rounded to 0 (a prompt token): infinite bits


def test_every_mode_has_a_legend_saying_what_its_colours_mean():
    shown = legends()
    for mode in MODES:
        key = {"GLTR rank": "rank"}.get(mode, mode)
        block = re.search(rf'<div class="legend by-{key}">(.*?)</div>', shown).group(1)
        assert html.escape(LEGEND_TEXT[mode][0]) in block
        assert all(f'class="tok {name}"' in block for _, name in LEGEND_TEXT[mode][1])
    assert "top 10" in shown and "top 1000" in shown and "beyond" in shown and "−log₂ p" in shown


def full_ranks(loaded, trace: Trace) -> list[int]:
    """The chosen tokens' 1-based ranks by a full-vocabulary softmax of one pass over prompt + output."""
    ids = torch.tensor([trace.prompt.token_ids + trace.output.token_ids])
    with torch.no_grad():
        logits = loaded.model(input_ids=ids).logits[0].float()  # (T, V)
    start = len(trace.prompt.token_ids) - 1
    probs = torch.softmax(logits[start : start + len(trace.output.token_ids)], dim=-1)  # (N, V)
    chosen = torch.tensor(trace.output.token_ids)
    return ((probs > probs.gather(-1, chosen[:, None])).sum(dim=-1) + 1).tolist()


def test_gltr_buckets_equal_ranks_from_a_full_softmax(bundled_fp32):
    """Sampling hot from the whole vocabulary takes tokens from every bucket; each token's bucket in the Output
    is the one its rank in a full softmax, computed here, falls in."""
    settings = Settings(strategy="sample", seed=5, temperature=1.6, top_k=0, top_p=1.0, chat=False,
                        max_new_tokens=40, min_new_tokens=40)  # fmt: skip
    trace = generate(bundled_fp32, "The weather in Lisbon today is", settings)
    ranks = full_ranks(bundled_fp32, trace)
    # One pass over the whole text and the run's cached passes differ in the last bits of a logit: deep in the
    # tail, where thousands of tokens sit close together, a rank may move by one or two.
    assert [s.chosen.rank for s in trace.steps] == [pytest.approx(r, rel=1e-3, abs=0) for r in ranks]
    shown = re.findall(r'class="tok p\d (r\d) ', trace_html(trace))
    assert shown == [gltr_bucket(r) for r in ranks]
    assert len(set(shown)) >= 3, shown  # the check reaches past the first bucket


@pytest.mark.parametrize("prompt", ["hello there, hello there", "x"])
def test_prompt_figures_equal_a_teacher_forced_pass_computed_here(tiny_loaded, prompt):
    ids = tiny_loaded.tokenizer(prompt)["input_ids"]
    figures = prompt_figures(tiny_loaded, ids)
    assert [f.id for f in figures] == ids and figures[0].prob is None and figures[0].rank is None
    with torch.no_grad():
        logits = tiny_loaded.model(input_ids=torch.tensor([ids])).logits[0].double()  # (T, V)
    for i, fig in enumerate(figures[1:], start=1):
        logp = torch.log_softmax(logits[i - 1], dim=-1)
        p = logp.exp()
        h = float(-(p * logp).sum())
        assert fig.prob == pytest.approx(float(p[ids[i]]), rel=1e-4)
        assert fig.rank == int((logits[i - 1] > logits[i - 1, ids[i]]).sum()) + 1
        assert fig.entropy == pytest.approx(h, rel=1e-4)
        assert fig.varentropy == pytest.approx(float((p * (-logp - h) ** 2).sum()), rel=1e-3, abs=1e-6)


def test_prompt_figures_on_the_embedded_model_match_a_full_softmax(bundled_fp32):
    ids = bundled_fp32.tokenizer("Colourless green ideas sleep furiously.")["input_ids"]
    figures = prompt_figures(bundled_fp32, ids)
    with torch.no_grad():
        probs = torch.softmax(bundled_fp32.model(input_ids=torch.tensor([ids])).logits[0].double(), dim=-1)
    expected = [int((probs[i - 1] > probs[i - 1, ids[i]]).sum()) + 1 for i in range(1, len(ids))]
    assert [f.rank for f in figures[1:]] == expected
    assert [f.prob for f in figures[1:]] == pytest.approx([float(probs[i - 1, ids[i]]) for i in range(1, len(ids))],
                                                          rel=1e-4)  # fmt: skip


def test_the_prompt_html_has_a_span_per_token_the_first_uncoloured(tiny_loaded):
    ids = tiny_loaded.tokenizer("ab<c")["input_ids"]
    shown = prompt_html(prompt_figures(tiny_loaded, ids))
    classes = re.findall(r'<span class="tok ([^"]*)"', shown)
    assert len(classes) == len(ids)
    assert classes[0] == "nr-probability nr-rank nr-entropy nr-surprisal"
    assert all(re.fullmatch(r"p\d r\d e\d s\d", c) for c in classes[1:])
    assert "&lt;" in shown and "nothing comes before it" in shown


def test_an_older_trace_without_ranks_or_varentropy_loads_and_renders(tiny_loaded):
    trace = generate(tiny_loaded, "abc", Settings(strategy="greedy", chat=False, max_new_tokens=3))
    data = trace.to_dict()
    for step in data["steps"]:
        del step["varentropy"], step["chosen"]["rank"]
    shown = trace_html(Trace.from_dict(data))
    assert shown.count("nr-rank") == len(trace.steps)
    assert "rank not recorded" in shown and "varentropy not recorded" in shown


def test_a_step_of_an_old_trace_is_coloured_in_the_modes_it_has():
    step = Step(index=0, chosen=Chosen(id=1, text="a", prob=0.3), entropy=2.0, candidates=[])
    assert colour_classes(step.chosen.prob, step.chosen.rank, step.entropy) == "p2 nr-rank e2 s1"
