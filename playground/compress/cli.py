"""`python -m playground compress`: the prompt compressed as LLMLingua does, as text or as the full record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from playground.compress.knobs import CompressKnobs, check_knobs
from playground.compress.result import Compression
from playground.knobs import BY_NAME, whole_arg
from playground.settings import PRECISIONS, Limits

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


def add_compress_parser(commands: Any) -> None:
    """The `compress` subcommand and its flags."""
    from playground.cli import add_device_map_flag
    from playground.models import DEFAULT_MODEL_ID

    parser = commands.add_parser(
        "compress", help="drop the prompt's most predictable tokens (LLMLingua), keeping --ratio of them"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="bundled default, a Hugging Face id or a directory")
    parser.add_argument("--precision", default="nf4", choices=PRECISIONS)
    add_device_map_flag(parser)
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


def compress(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`compress`: the compressed prompt and a line of counts, or the Compression as JSON."""
    from playground.cli import bad_values_exit, device_map_arg, read_text_arg
    from playground.compress.compressor import compress_prompt
    from playground.models import ModelLoadError, load_model

    def flag(field: str) -> str:
        return COMPRESS_FLAGS.get(field, f"--{field.replace('_', '-')}")

    with bad_values_exit(parser, flag):
        prompt = args.prompt if args.prompt is not None else read_text_arg(parser, args.prompt_file, "--prompt-file")
        force = [word.strip() for word in args.force.split(",") if word.strip()]
        knobs = {"budget": args.budget, "span": args.span, "force_tokens": force, "segment_size": args.segment_size}
        check_knobs(prompt, args.ratio, CompressKnobs(**knobs), Limits.from_env())  # before the model loads
    device_map = device_map_arg(parser, args)
    try:
        loaded = load_model(args.model, args.precision, device_map=device_map)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    chat = args.chat if args.chat is not None else bool(getattr(loaded.tokenizer, "chat_template", None))
    with bad_values_exit(parser, flag):
        result = compress_prompt(loaded, prompt, args.ratio, chat=chat, **knobs)
    print(result.to_json() if args.json else compression_text(result), flush=True)
    return 0


def compression_text(result: Compression) -> str:
    """The compressed prompt, then "kept K of N tokens (ratio R, target T) in S s" over the compressible part."""
    compressible = [token for token in result.tokens if token.compressible]
    kept = sum(token.kept for token in compressible)
    return (
        f"{result.text}\nkept {kept} of {len(compressible)} tokens (ratio {result.ratio:.3f}, target "
        f"{result.target:.3f}) in {result.seconds:.2f} s"
    )
