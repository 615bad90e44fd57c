"""The quantization lens: how far each precision of a model strays from a reference precision, over many prompts.

Per precision, as llama.cpp's KL-divergence statistics report for its quantizations: the mean and 99th
percentile of the per-token KL(quantized || reference) along the quantized model's own greedy text (the
reference reads the same tokens, so both answer the same question at every step), how often their most likely
tokens agree, how many tokens the two greedy texts share before they first differ, and the weights' memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from playground.engine import generate
from playground.engine.compare import compare_path, first_difference
from playground.models import load_model
from playground.settings import Settings


@dataclass
class LensRow:
    precision: str
    memory_mb: float
    mean_kl: float  # nats per token
    p99_kl: float
    top1_agreement: float  # share of steps whose most likely tokens agree
    mean_same_tokens: float  # tokens the greedy texts share before they first differ, per prompt
    steps: int  # tokens compared, all prompts together
    prompts: int


def quantization_lens(
    model_id: str,
    precisions: list[str],
    reference: str,
    prompts: list[str],
    settings: Settings,
    progress: Callable[[str], None] = lambda line: None,
    device_map: str | None = None,
) -> list[LensRow]:
    """One LensRow per precision; `settings` are the runs' (greedy, with max_new_tokens, as a rule); every model is
    placed by `device_map` (`load_model`'s)."""
    ref = load_model(model_id, reference, device_map=device_map)
    ref_texts = {prompt: generate(ref, prompt, settings).output.token_ids for prompt in prompts}
    rows = []
    for precision in precisions:
        quantized = load_model(model_id, precision, device_map=device_map)
        kls, agree, same = [], [], []
        for prompt in prompts:
            trace = generate(quantized, prompt, settings)
            path = compare_path(quantized, settings, ref, settings, trace.prompt.token_ids, trace.output.token_ids)
            kls += [step.kl for step in path]
            agree += [step.top1_agree for step in path]
            same.append(first_difference(trace.output.token_ids, ref_texts[prompt]))
        rows.append(
            LensRow(
                precision=precision,
                memory_mb=quantized.info.memory_mb,
                mean_kl=sum(kls) / len(kls),
                p99_kl=percentile(kls, 0.99),
                top1_agreement=sum(agree) / len(agree),
                mean_same_tokens=sum(same) / len(same),
                steps=len(kls),
                prompts=len(prompts),
            )
        )
        progress(f"{precision}: {len(kls)} tokens compared")
    return rows


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values` by linear interpolation (as numpy's default); inf if it falls on an inf."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if ordered[high] == math.inf:
        return math.inf
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lens_table(rows: list[LensRow], reference: str, reference_mb: float) -> str:
    """The rows as a Markdown table, the reference first."""
    lines = [
        "| precision | memory MB | mean KL | p99 KL | top-1 agreement | tokens until the greedy texts differ |",
        "|---|---:|---:|---:|---:|---:|",
        f"| {reference} (reference) | {reference_mb:.0f} | 0 | 0 | 100% | all |",
    ]
    for row in rows:
        lines.append(
            f"| {row.precision} | {row.memory_mb:.0f} | {row.mean_kl:.4f} | {row.p99_kl:.4f} | "
            f"{row.top1_agreement:.1%} | {row.mean_same_tokens:.1f} |"
        )
    return "\n".join(lines)
