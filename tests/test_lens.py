"""The quantization lens and `python -m playground compare`, on a tiny model saved as a checkpoint."""

import math

import pytest
import torch

from playground.cli import main
from playground.lens import lens_table, percentile, quantization_lens
from playground.settings import Settings
from tests.tiny import save_tiny_model


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, tiny_tokenizer):
    return save_tiny_model(tmp_path_factory.mktemp("lens") / "tiny", tiny_tokenizer, seed=0, eos_boost=0.0)


def test_percentile_is_numpys_linear_one():
    values = [0.3, 0.1, 2.0, 0.7, 0.05, 1.1]
    for q in (0.0, 0.5, 0.9, 0.99, 1.0):
        assert percentile(values, q) == pytest.approx(float(torch.quantile(torch.tensor(values), q)))
    assert percentile([0.1, math.inf], 0.99) == math.inf


def test_the_reference_against_itself_is_zero_apart_and_bf16_a_little(tiny_dir):
    prompts = ["the cat sat", "a dog ran"]
    settings = Settings(chat=False, max_new_tokens=8)
    same, bf16 = quantization_lens(tiny_dir, ["fp32", "bf16"], "fp32", prompts, settings)
    assert (same.mean_kl, same.p99_kl, same.top1_agreement, same.mean_same_tokens) == (0.0, 0.0, 1.0, 8.0)
    assert same.steps == 16 and same.prompts == 2
    assert 0 < bf16.mean_kl <= bf16.p99_kl < 0.1 and bf16.memory_mb < same.memory_mb
    table = lens_table([same, bf16], "fp32", same.memory_mb)
    assert table.splitlines()[2].startswith("| fp32 (reference) |") and "| bf16 |" in table


def test_compare_command_prints_the_table(tiny_dir, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the cat sat\n\na dog ran\n", encoding="utf-8")
    flags = ["compare", "--model", tiny_dir, "--precisions", "bf16", "--prompts", str(prompts)]
    assert main([*flags, "--max-new-tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert "2 prompts, 4 greedy tokens each" in out and "| bf16 |" in out
    with pytest.raises(SystemExit):
        main([*flags[:4], "fp8", *flags[5:]])
    assert "argument --precisions: choose from" in capsys.readouterr().err
