"""The embedded model: converted once to float32, exactly as transformers' GGUF loader reads it."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from playground.models import bundled

pytestmark = pytest.mark.integration


def test_conversion_reports_progress_then_is_cached_and_exact(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path))
    said: list[str] = []
    checkpoint = bundled.ensure_checkpoint(progress=said.append)
    assert checkpoint == tmp_path / "SmolLM2-135M-Instruct-fp32"
    assert any("Converting" in line for line in said) and any("3/3" in line for line in said)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary directory left behind"

    said.clear()
    assert bundled.ensure_checkpoint(progress=said.append) == checkpoint
    assert said == [], "a fresh cache must not convert again"

    gguf = bundled.gguf_path()
    reference = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    ours = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
    theirs = reference.state_dict()
    mine = ours.state_dict()
    assert mine.keys() == theirs.keys()
    for name, tensor in theirs.items():
        assert mine[name].dtype == torch.float32
        assert torch.equal(mine[name], tensor), name


def test_fp32_load_matches_the_cached_checkpoint_and_reports_info(bundled_fp32):
    info = bundled_fp32.info
    assert (info.id, info.source, info.precision) == ("SmolLM2-135M-Instruct", "bundled-gguf", "fp32")
    assert info.vocab_size == 49152
    assert 400 < info.memory_mb < 600
    assert bundled_fp32.tokenizer.chat_template


def test_nf4_is_a_fraction_of_fp32(bundled_nf4, bundled_fp32):
    assert bundled_nf4.info.memory_mb < bundled_fp32.info.memory_mb / 3


def test_stale_cache_is_rebuilt(tmp_path, monkeypatch):
    """A checkpoint whose stamp does not match the installed GGUF is not trusted."""
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path))
    target = bundled.checkpoint_dir()
    target.mkdir(parents=True)
    (target / "source.json").write_text('{"gguf": "old.gguf", "size": 1, "conversion": 0}')
    calls = []
    monkeypatch.setattr(bundled, "_convert", lambda gguf, out, progress: calls.append(out))
    assert bundled.ensure_checkpoint(progress=lambda line: None) == target
    assert len(calls) == 1 and bundled._fingerprint(bundled.gguf_path()) == __import__("json").loads(
        (target / "source.json").read_text()
    )
