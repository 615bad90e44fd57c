"""Loading a model with accelerate's device map: PLAYGROUND_DEVICE_MAP, PLAYGROUND_MAX_MEMORY and --device-map, and
the one-sentence errors for their bad values. (That such a model decodes as on one device is tests/engine's.)"""

import gc
import json
import re

import pytest

from playground.cli import main
from playground.engine.speculative import load_draft
from playground.models import ModelLoadError, load_model, loader
from playground.models.device_map import max_memory_from_env
from playground.settings import Settings
from tests.tiny import save_tiny_model


@pytest.fixture
def tiny_dir(tmp_path, tiny_tokenizer, monkeypatch):
    """A tiny model's directory, with offload folders in a temporary cache and nothing loaded before or after."""
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path / "cache"))
    loader.clear_cache()
    yield save_tiny_model(tmp_path / "tiny", tiny_tokenizer)
    loader.clear_cache()


def offload_folders(tmp_path):
    return sorted((tmp_path / "cache" / "offload").glob("weights-*"))


def test_the_environment_spreads_the_model_to_disk_and_its_folder_goes_with_it(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DEVICE_MAP", "auto")
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "cpu=100KB")  # the embeddings and the first layer
    loaded = load_model(tiny_dir, "fp32")
    assert loaded.device_map == "auto" and loaded.info.device == "cpu+disk"
    assert loaded.model.hf_device_map["model.layers.1"] == "disk"
    assert len(offload_folders(tmp_path)) == 1  # (float32 weights are read from the checkpoint, where they are)
    draft = load_draft(Settings(strategy="speculative", draft_model=None, draft_precision="bf16"), loaded)
    # Placed as its target is, by accelerate: at half the size, it fits in the CPU's 100 KB.
    assert draft.device_map == "auto" and draft.info.device == "cpu"
    del loaded, draft
    loader.clear_cache()
    gc.collect()
    assert offload_folders(tmp_path) == []


def test_a_device_given_by_name_is_one_device(tiny_dir, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DEVICE_MAP", "auto")
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "cpu=100KB")
    loaded = load_model(tiny_dir, "fp32", device="cpu")
    assert loaded.device_map is None and loaded.info.device == "cpu"
    assert not hasattr(loaded.model, "hf_device_map")
    monkeypatch.delenv("PLAYGROUND_DEVICE_MAP")
    monkeypatch.delenv("PLAYGROUND_MAX_MEMORY")
    assert load_model(tiny_dir, "fp32") is loaded  # unset: today's one device


@pytest.mark.parametrize("value", ["balanced", "cuda", "{'': 0}"])
def test_a_bad_device_map_is_named(tiny_dir, monkeypatch, value):
    monkeypatch.setenv("PLAYGROUND_DEVICE_MAP", value)
    named = f"must be one of auto (or unset for one device), got {value!r}"
    with pytest.raises(ModelLoadError, match=re.escape(f"environment variable PLAYGROUND_DEVICE_MAP {named}")):
        load_model(tiny_dir, "fp32")
    with pytest.raises(ModelLoadError, match=re.escape(f"device_map {named}")):
        load_model(tiny_dir, "fp32", device_map=value)


def test_max_memory_reads_as_accelerate_takes_it(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "0=20GiB, 1=18GB ,cpu=60GiB")
    assert max_memory_from_env() == {0: "20GiB", 1: "18GB", "cpu": "60GiB"}
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", " ")
    assert max_memory_from_env() is None


def test_max_memory_without_a_device_map_is_named_not_ignored(tiny_dir, monkeypatch):
    monkeypatch.delenv("PLAYGROUND_DEVICE_MAP", raising=False)
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "cpu=1GiB")
    with pytest.raises(ModelLoadError, match=r"PLAYGROUND_MAX_MEMORY caps .* needs PLAYGROUND_DEVICE_MAP=auto"):
        load_model(tiny_dir, "fp32")


@pytest.mark.parametrize("value", ["cpu", "gpu=20GiB", "0=lots", "0=0GiB", "0=20GiB,,cpu=1GiB", "-1=2GiB"])
def test_a_bad_max_memory_is_named(tiny_dir, monkeypatch, value):
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", value)
    with pytest.raises(ModelLoadError, match="environment variable PLAYGROUND_MAX_MEMORY must list device=size"):
        load_model(tiny_dir, "fp32", device_map="auto")


@pytest.mark.parametrize("precision", ["nf4", "int8"])
def test_bitsandbytes_weights_that_would_be_offloaded_are_refused_in_one_sentence(
    tiny_dir, tmp_path, monkeypatch, precision
):
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "cpu=20KB")
    with pytest.raises(ModelLoadError) as err:
        load_model(tiny_dir, precision, device_map="auto")
    assert "bitsandbytes cannot offload quantized weights to the CPU or disk" in str(err.value)
    assert "\n" not in str(err.value)
    assert offload_folders(tmp_path) == []  # the failed load's folder is gone


def test_the_cli_flag_places_the_model_and_the_trace_says_where(tiny_dir, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_MAX_MEMORY", "cpu=100KB")
    flags = ["--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat", "--max-new-tokens", "3", "--json"]
    assert main(["generate", *flags, "--device-map", "auto"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["device"] == "cpu+disk"
    monkeypatch.delenv("PLAYGROUND_MAX_MEMORY")
    assert main(["generate", *flags]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["device"] == "cpu"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--device-map", "everywhere"], {}, "argument --device-map: invalid choice: 'everywhere'"),
        ([], {"PLAYGROUND_DEVICE_MAP": "everywhere"}, "environment variable PLAYGROUND_DEVICE_MAP must be one of"),
        (["--device-map", "auto"], {"PLAYGROUND_MAX_MEMORY": "0=lots"}, "environment variable PLAYGROUND_MAX_MEMORY"),
        ([], {"PLAYGROUND_MAX_MEMORY": "cpu=1GiB"}, "so it needs PLAYGROUND_DEVICE_MAP=auto (or --device-map auto)"),
    ],
)
@pytest.mark.parametrize("command", ["generate", "mass"])
def test_bad_device_maps_exit_2_from_the_cli(tiny_dir, monkeypatch, capsys, command, flags, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat", *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
