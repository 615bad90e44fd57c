"""`python -m playground compress`'s flags and output: the prompt compressed as LLMLingua does, as text or as the
full record (`cli.py` dispatches it as it does the other subcommands)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from playground.compress.compressor import compress_prompt
from playground.compress.knobs import CompressKnobs, check_knobs
from playground.compress.result import Compression
from playground.knobs import BY_NAME, whole_arg
from playground.settings import Limits

COMPRESS_FLAGS = {
    "prompt": "--prompt",
    "ratio": "--ratio",
    "budget": "--budget",
    "span": "--span",
    "force_tokens": "--force",
    "segment_size": "--segment-size",
    "chat": "--chat/--raw",
}


def span_arg(value: str) -> tuple[int, int]:
    """--span's START:END, character offsets of the prompt, as a pair of whole numbers."""
    start, colon, end = value.partition(":")
    if not colon:
        raise argparse.ArgumentTypeError(f"must be START:END (character offsets), got {value!r}")
    return whole_arg(start), whole_arg(end)


def add_compress_flags(parser: argparse.ArgumentParser) -> None:
    """The `compress` subcommand's own flags (the model's flags are the other subcommands')."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="the prompt text")
    source.add_argument("--prompt-file", type=Path, help="read the prompt from this file")
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_true", default=None, help=BY_NAME["chat"].help)
    chat.add_argument("--raw", dest="chat", action="store_false", help="feed the prompt as is")
    parser.add_argument("--ratio", type=float, default=0.5, help="share of the compressible tokens to keep, (0, 1]")
    parser.add_argument("--budget", type=whole_arg, help="tokens of the compressible part to keep, instead of --ratio")
    parser.add_argument("--force", default="", metavar="WORD,WORD", help="comma-separated words never dropped")
    parser.add_argument(
        "--span", type=span_arg, metavar="START:END",
        help="characters of the prompt to compress (default: all but the last sentence)",
    )  # fmt: skip
    parser.add_argument("--segment-size", type=whole_arg, default=200, help="tokens scored per pass (LLMLingua: 200)")
    parser.add_argument("--json", action="store_true", help="print every token's loss and fate and the result as JSON")


def compress_flag(field: str) -> str:
    """The flag that sets a compression knob (or gives the prompt)."""
    return COMPRESS_FLAGS.get(field, f"--{field.replace('_', '-')}")


def compress_knobs(prompt: str, args: argparse.Namespace) -> dict[str, Any]:
    """compress_prompt's keyword arguments from the flags (chat left out: it needs the model's tokenizer), checked
    before the model loads; raises SettingsError naming the bad knob."""
    force = [word.strip() for word in args.force.split(",") if word.strip()]
    knobs = {"budget": args.budget, "span": args.span, "force_tokens": force, "segment_size": args.segment_size}
    check_knobs(prompt, args.ratio, CompressKnobs(**knobs), Limits.from_env())
    return knobs


def compress_output(loaded, prompt: str, args: argparse.Namespace, knobs: dict[str, Any]) -> str:
    """What `compress` prints: the compressed prompt and a line of counts, or the Compression as JSON. Chat is on
    when asked (--chat) or, unless --raw, when the tokenizer has a template."""
    result = compress_prompt(loaded, prompt, args.ratio, chat=args.chat, **knobs)
    return result.to_json() if args.json else compression_text(result)


def compression_text(result: Compression) -> str:
    """The compressed prompt, then "kept K of N tokens (ratio R, target T) in S s" over the compressible part."""
    compressible = [token for token in result.tokens if token.compressible]
    kept = sum(token.kept for token in compressible)
    return (
        f"{result.text}\nkept {kept} of {len(compressible)} tokens (ratio {result.ratio:.3f}, target "
        f"{result.target:.3f}) in {result.seconds:.2f} s"
    )
