"""`python -m playground compress`: the compressed prompt and its counts, --json's record, and bad values named by
their flag with exit code 2."""

import json

import pytest

from playground.cli import main
from playground.compress import Compression, compress_prompt
from playground.models import load_model

PROMPT = "The red kite nests in tall oaks and hunts over open fields. It eats small mammals. Where does it nest?"


def compress(tiny_dir, *flags):
    return main(["compress", "--model", tiny_dir, "--precision", "fp32", *flags])


def test_text_is_the_compressed_prompt_then_the_counts(tiny_dir, capsys):
    assert compress(tiny_dir, "--prompt", PROMPT, "--ratio", "0.5", "--segment-size", "20") == 0
    text, counts = capsys.readouterr().out.rstrip("\n").rsplit("\n", 1)
    expected = compress_prompt(load_model(tiny_dir, "fp32"), PROMPT, 0.5, segment_size=20)
    assert text == expected.text and text.endswith("Where does it nest?")
    compressible = sum(token.compressible for token in expected.tokens)
    kept = sum(token.kept for token in expected.tokens if token.compressible)
    assert counts.startswith(f"kept {kept} of {compressible} tokens (ratio {expected.ratio:.3f}, target 0.500) in ")
    assert counts.endswith(" s")


def test_json_lists_every_token_with_its_loss_and_fate_and_the_flags_apply(tiny_dir, capsys, tmp_path):
    path = tmp_path / "prompt.txt"
    path.write_text(PROMPT, encoding="utf-8")
    flags = ["--prompt-file", str(path), "--raw", "--budget", "12", "--force", "kite, oaks", "--span", "0:58"]
    assert compress(tiny_dir, *flags, "--segment-size", "16", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    result = Compression.from_dict(data)
    assert len(result.tokens) == len(PROMPT)  # the tiny tokenizer: a token per character, no template (--raw)
    assert {"id", "text", "loss", "kept", "compressible", "forced"} == set(data["tokens"][0])
    assert data["tokens"][0]["loss"] is None and data["tokens"][1]["loss"] > 0  # raw: nothing predicts the first
    assert [token.compressible for token in result.tokens] == [j < 58 for j in range(len(PROMPT))]
    assert "".join(token.text for token in result.tokens if token.forced) == "kiteoaks"
    assert all(token.kept for token in result.tokens if token.forced)
    assert result.ids == [token.id for token in result.tokens if token.kept] and result.target == 12 / 58
    assert result.segments == [(0, 16), (16, 32), (32, 48), (48, 58)]
    assert {"text", "ids", "target", "ratio", "segments", "seconds"} <= set(data)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ratio", "0"], "argument --ratio: ratio must be in (0, 1]"),
        (["--ratio", "1.2"], "argument --ratio: ratio must be in (0, 1]"),
        (["--budget", "0"], "argument --budget: budget must be"),
        (["--span", "50:10"], "argument --span: span must satisfy"),
        (["--span", "7"], "argument --span: must be START:END"),
        (["--segment-size", "1"], "argument --segment-size: segment_size must be"),
        (["--prompt", "  "], "argument --prompt: prompt must not be empty"),
        (["--span", "0:200"], "argument --span: span must satisfy 0 <= start < end <= 102"),
    ],
)
def test_bad_values_are_named_by_their_flag(tiny_dir, capsys, flags, message):
    given = flags if "--prompt" in flags else ["--prompt", PROMPT, *flags]
    with pytest.raises(SystemExit) as exc:
        compress(tiny_dir, *given)
    assert exc.value.code == 2 and message in capsys.readouterr().err
