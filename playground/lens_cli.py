"""`python -m playground lens`'s flags and output: the prompt run with the usual generate flags, then the logit lens
of one step, as the layer table or as JSON (`cli.py` dispatches it as it does the other subcommands)."""

from __future__ import annotations

import argparse
import json

from playground.engine import generate
from playground.engine.logit_lens import TOP_K, lens_step
from playground.knobs import whole_arg
from playground.plots.logit_lens import lens_table
from playground.plots.style import show_token
from playground.settings import Settings

LENS_FLAGS = {"step": "--step"}  # the lens-only field a SettingsError can name


def add_lens_flags(parser: argparse.ArgumentParser) -> None:
    """The `lens` subcommand's own flags (the prompt, model and knob flags are `generate`'s)."""
    parser.add_argument("--step", type=whole_arg, default=1, help="the 1-based generated step to look inside")
    parser.add_argument(
        "--lens-top", type=whole_arg, default=TOP_K, dest="lens_top", help="tokens listed per layer in --json"
    )
    parser.add_argument(
        "--json", action="store_true", help="print every layer's top tokens, the chosen token's rank, probability "
        "and KL(layer || final), and first_top1_layer, as JSON"
    )  # fmt: skip


def lens_flag(field: str) -> str | None:
    """The flag of a lens-only field (None for the Settings' own)."""
    return LENS_FLAGS.get(field)


def lens_output(loaded, prompt: str, settings: Settings, args: argparse.Namespace) -> str:
    """What `lens` prints: the run's text, then the layer table of --step; or, with --json, the lens record with
    the model, the precision and the run's text. Raises SettingsError("step") for a step the run does not have."""
    trace = generate(loaded, prompt, settings)
    lens = lens_step(loaded, trace, args.step, top_k=max(args.lens_top, 1))
    if args.json:
        run = {"model": trace.model.id, "precision": trace.model.precision, "output": trace.output.text}
        return json.dumps({**run, **lens.to_dict()}, ensure_ascii=False)
    head = f"{trace.output.text}\n--- step {lens.step}: {show_token(lens.token_text)!r}, {lens.num_layers} layers"
    return f"{head}\n{lens_table(lens)}"
