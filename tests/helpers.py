"""Small helpers several test modules share."""

from __future__ import annotations

import pytest

from playground.cli import main
from playground.engine import generate
from playground.engine.speculative import load_draft
from playground.models import LoadedModel
from playground.settings import Settings
from playground.trace import Candidate, Trace


def run(target: LoadedModel, prompt: str, settings: Settings) -> Trace:
    """A run as the page and the CLI start it: the caller loads the draft the settings name, then the engine
    runs (the engine loads no model itself)."""
    return generate(target, prompt, settings, draft=load_draft(settings, target))


def byte_candidate(token_id: int, raw: bytes, p: float = 0.5) -> Candidate:
    """A candidate whose token is the bytes `raw`, with probability `p` at every stage; its bytes are recorded
    (as hex) when its own text is not whole characters, as the engine records them."""
    text = raw.decode("utf-8", errors="replace")
    return Candidate(token_id, text, 0.0, {"raw": p, "final": p}, None, raw.hex() if "\ufffd" in text else None)


def cli_run(model_dir: str, capsys, flags: list[str], max_new_tokens: int = 2) -> Trace:
    """A sampling run of the command line on the model in `model_dir` (fp32, raw prompt "the cat sat") with
    `flags`, read back from its --json output."""
    assert main([*cli_common(model_dir), "--strategy", "sample", "--max-new-tokens", str(max_new_tokens), "--json",
                 *flags]) == 0  # fmt: skip
    return Trace.from_json(capsys.readouterr().out.strip())


def cli_refusal(model_dir: str, capsys, flags: list[str]) -> str:
    """What the command line prints when it refuses `flags` (it exits with status 2, as argparse does)."""
    with pytest.raises(SystemExit) as exit_info:
        main([*cli_common(model_dir), *flags])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def cli_common(model_dir: str) -> list[str]:
    """The command line's generate command on `model_dir` at fp32, the prompt "the cat sat" read as is."""
    return ["generate", "--model", model_dir, "--precision", "fp32", "--prompt", "the cat sat", "--raw"]
