"""`python -m playground generate`: the engine from a terminal, as text or as a JSON trace per run;
`python -m playground compare`: the quantization lens, each precision against a reference;
`python -m playground mass`: where the probability mass goes in the next few tokens, as a tree;
`python -m playground compress`: the prompt with its most predictable tokens dropped (LLMLingua);
`python -m playground lens`: the prompt run, then every layer's guess at one step (the logit lens);
`python -m playground fork`: the prompt run, then where its answer forks (outcomes resampled at each position)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playground.compress_cli import add_compress_flags, compress_flag, compress_knobs, compress_output
from playground.engine import stream
from playground.engine.branch import branch_point
from playground.engine.context import check_prompt
from playground.fork_cli import add_fork_flags, fork_flag, fork_output, fork_request
from playground.knobs import BY_NAME, KNOBS, whole_arg
from playground.lens_cli import add_lens_flags, lens_flag, lens_output
from playground.plots.style import show_token
from playground.settings import BEAM_STRATEGIES, PRECISIONS, Settings, SettingsError
from playground.summary import mass_summary, summary
from playground.trace import MassNode, MassTree, Trace

FIELD_FLAGS = {knob.name: knob.flag for knob in KNOBS} | {"chat": "--chat/--raw", "prompt": "--prompt"}
FIELD_FLAGS |= {"at": "--at", "token": "--token"}
MASS_FLAGS = {"mass_depth": "--depth", "mass_threshold": "--threshold"}
BRANCH_FIELDS = ("prefix_ids", "parent_run")  # a --continue-from trace's own branch is replaced, not kept


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `python -m playground`."""
    from playground.models import DEFAULT_MODEL_ID

    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="run one decoding experiment and print the text or its trace")
    gen.add_argument(
        "--model", help=f"bundled default, a Hugging Face id or a directory (default: {DEFAULT_MODEL_ID}, or the "
        "--continue-from trace's model)"
    )  # fmt: skip
    gen.add_argument("--precision", default="nf4", choices=PRECISIONS)
    add_device_map_flag(gen)
    source = gen.add_mutually_exclusive_group()
    source.add_argument("--prompt", help="the prompt text")
    source.add_argument("--prompt-file", type=Path, help="read the prompt from this file")
    branch = gen.add_argument_group("branching", "continue an exported trace from one of its steps")
    branch.add_argument(
        "--continue-from", type=Path, metavar="TRACE.json",
        help="a trace file (--json or the page's export): its prompt and settings, which other flags change",
    )  # fmt: skip
    branch.add_argument("--at", type=whole_arg, metavar="STEP", help="the 1-based step to branch at")
    branch.add_argument("--token", metavar="ID_OR_TEXT", help="the token to take there: an id, or text of one token")
    add_knob_flags(gen)
    gen.add_argument("--runs", type=whole_arg, default=1, help="N runs with seeds seed, seed+1, ...")
    gen.add_argument("--json", action="store_true", help="print the full trace as one JSON object per run")
    lens = commands.add_parser(
        "compare", help="the quantization lens: how far each precision's distributions are from a reference's"
    )
    lens.add_argument("--model", default=DEFAULT_MODEL_ID, help="bundled default, a Hugging Face id or a directory")
    lens.add_argument("--precisions", default="nf4,fp4,int8,bf16", help="comma-separated, each compared in turn")
    lens.add_argument("--reference", default="fp32", choices=PRECISIONS)
    add_device_map_flag(lens)
    lens.add_argument("--prompts", type=Path, required=True, help="a text file, one prompt per line")
    lens.add_argument("--max-new-tokens", type=whole_arg, default=32, help="greedy tokens per prompt")
    mass = commands.add_parser(
        "mass", help="every continuation up to --depth tokens whose probability is at least --threshold, as a tree"
    )
    add_model_flags(mass, prompt=True)
    add_knob_flags(mass, {"mass_depth": "--depth", "mass_threshold": "--threshold"})
    mass.add_argument("--json", action="store_true", help="print the tree as JSON")
    squeeze = commands.add_parser(
        "compress", help="drop the prompt's most predictable tokens (LLMLingua), keeping --ratio of them"
    )
    add_model_flags(squeeze)
    add_compress_flags(squeeze)
    add_lens_parser(commands.add_parser("lens", help="run the prompt, then every layer's guess at --step (logit lens)"))
    forks = commands.add_parser("fork", help="run the prompt, then resample each position: where does the answer fork?")
    add_model_flags(forks, prompt=True)
    add_knob_flags(forks)
    add_fork_flags(forks)
    return parser


def add_model_flags(parser: argparse.ArgumentParser, prompt: bool = False) -> None:
    """--model (the bundled default), --precision and --device-map; with `prompt`, a required --prompt or
    --prompt-file."""
    from playground.models import DEFAULT_MODEL_ID

    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="bundled default, a Hugging Face id or a directory")
    parser.add_argument("--precision", default="nf4", choices=PRECISIONS)
    add_device_map_flag(parser)
    if prompt:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--prompt", help="the prompt text")
        source.add_argument("--prompt-file", type=Path, help="read the prompt from this file")


def add_lens_parser(look: argparse.ArgumentParser) -> None:
    """`lens`'s flags: the model's, the prompt, every knob (as `generate`), then the lens's own."""
    add_model_flags(look, prompt=True)
    add_knob_flags(look)
    add_lens_flags(look)


def add_device_map_flag(parser: argparse.ArgumentParser) -> None:
    """--device-map: spread a model bigger than one device over the GPUs, the CPU and the disk."""
    from playground.models.device_map import DEVICE_MAP_ENV, DEVICE_MAPS

    parser.add_argument(
        "--device-map", choices=DEVICE_MAPS, help="place the model with accelerate over the GPUs, then the CPU and "
        f"disk, within PLAYGROUND_MAX_MEMORY (default: ${DEVICE_MAP_ENV}, else one device)"
    )  # fmt: skip


def device_map_arg(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """--device-map, else PLAYGROUND_DEVICE_MAP's; a bad value of it or of PLAYGROUND_MAX_MEMORY ends the program
    naming the variable (exit code 2), before any model loads."""
    from playground.models import ModelLoadError
    from playground.models.device_map import device_map_from_env, max_memory_from_env

    try:
        device_map = args.device_map or device_map_from_env()
        if device_map:
            max_memory_from_env()
    except ModelLoadError as exc:
        parser.error(str(exc))
    return device_map


def add_knob_flags(parser: argparse.ArgumentParser, aliases: dict[str, str] | None = None) -> None:
    """A flag per knob (`--chat`/`--raw` for the chat template), each also under its alias, if it has one."""
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat", dest="chat", action="store_true", default=None, help=BY_NAME["chat"].help)
    chat.add_argument("--raw", dest="chat", action="store_false", help="feed the prompt as is")
    for knob in KNOBS:
        if knob.name != "chat":  # chat is the --chat/--raw pair above
            flags = [knob.flag, *([aliases[knob.name]] if aliases and knob.name in aliases else [])]
            parser.add_argument(*flags, dest=knob.name, help=knob.help, **knob.cli)


def settings_from_args(args: argparse.Namespace, base: dict[str, Any] | None = None) -> Settings:
    """The Settings the flags ask for; flags left out keep `base` (a --continue-from trace's settings) or else
    the dataclass defaults."""
    given = {knob.name: getattr(args, knob.name) for knob in KNOBS if knob.name != "chat"}
    given["chat"] = args.chat
    chosen = {name: value for name, value in given.items() if value is not None}
    if chosen.get("draft_model") == "":  # --draft-model '': the target's own weights, the field's None
        chosen["draft_model"] = None
    return Settings.from_dict({**(base or {}), **chosen})


def field_flag(field: str) -> str:
    """The flag that sets a Settings field (or names the input it checks: --prompt); the field's own name if none."""
    return FIELD_FLAGS.get(field, field)


@contextmanager
def bad_values_exit(parser: argparse.ArgumentParser, flag: Callable[[str], str] = field_flag) -> Iterator[None]:
    """A SettingsError raised inside ends the program as argparse ends it for a bad flag: the usage, then
    `argument FLAG: message` with the flag `flag` gives for the error's field, and exit code 2."""
    try:
        yield
    except SettingsError as exc:
        parser.error(f"argument {flag(exc.field)}: {exc}")


def read_text_arg(parser: argparse.ArgumentParser, path: Path, flag: str) -> str:
    """The UTF-8 text of the file `flag` names; one that cannot be read or is not UTF-8 ends the program naming the
    flag, the file and why (exit code 2)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        parser.error(f"argument {flag}: cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError as exc:
        parser.error(f"argument {flag}: {path} is not UTF-8 text (byte {exc.start})")


def resolve_token(tokenizer: Any, value: str) -> int:
    """--token's value as a token id: a number is an id, anything else must be the text of exactly one token."""
    if value.strip().isdigit():
        return int(value)
    ids = tokenizer(value, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise SettingsError("token", f"{value!r} is {len(ids)} tokens {ids}, not one: give one token or its id")
    return ids[0]


def _run_once(loaded, prompt: str, settings: Settings, as_json: bool, draft=None) -> None:
    # Beams rewrite their text as they go, so they are printed at the end.
    live = not as_json and settings.strategy not in BEAM_STRATEGIES and settings.num_samples == 1
    shown = ""
    trace = None
    for update in stream(loaded, prompt, settings, draft=draft):
        trace = update.trace
        # A token can complete a multi-byte character and change the text's tail; print only settled text.
        if live and trace is None and update.text.startswith(shown):
            sys.stdout.write(update.text[len(shown) :])
            sys.stdout.flush()
            shown = update.text
    if as_json:
        print(trace.to_json(), flush=True)
        return
    if trace.samples is not None:
        for sample in trace.samples.samples:
            print(f"--- sample {sample.seed - settings.seed + 1} (seed {sample.seed})\n{sample.text}")
    elif settings.strategy in BEAM_STRATEGIES:
        for rank, seq in enumerate(trace.beams.sequences, start=1):
            met = {None: "", True: ", constraints met", False: ", constraints NOT met"}[seq.satisfies_constraints]
            print(f"--- beam {rank} (score {seq.score:.3f}{met})\n{seq.text}")
    else:
        print(trace.output.text[len(shown) :] if trace.output.text.startswith(shown) else "\n" + trace.output.text)
    print(f"[{summary(trace, detail=True)}]", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a bad value, 1 when the model cannot be loaded)."""
    from playground.models import DEFAULT_MODEL_ID

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "compare":
        return compare(parser, args)
    if args.command == "mass":
        return mass(parser, args)
    if args.command == "compress":
        return compress(parser, args)
    if args.command == "lens":
        return lens(parser, args)
    if args.command == "fork":
        return fork(parser, args)
    if args.runs < 1:
        parser.error(f"argument --runs: must be >= 1, got {args.runs}")
    parent = _read_parent(parser, args)
    if parent is None and args.prompt is None and args.prompt_file is None:
        parser.error("one of the arguments --prompt --prompt-file (or --continue-from) is required")
    with bad_values_exit(parser):
        base = None if parent is None else {k: v for k, v in parent.settings.items() if k not in BRANCH_FIELDS}
        settings = settings_from_args(args, base)
        prompt = _prompt_arg(parser, args)
        if prompt is None:
            prompt = parent.prompt.text
        check_prompt(prompt, settings.limits)  # before the model loads: a bad prompt is named at once

    from playground.engine.speculative import load_draft
    from playground.models import ModelLoadError, load_model

    device_map = device_map_arg(parser, args)
    try:
        model_id = args.model or (parent.model.id if parent else DEFAULT_MODEL_ID)
        loaded = load_model(model_id, args.precision, device_map=device_map)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with bad_values_exit(parser):
        if parent is not None:
            settings = settings.replace(**branch_point(parent, args.at, resolve_token(loaded.tokenizer, args.token)))
        draft = load_draft(settings, loaded)
        for run in range(args.runs):
            _run_once(loaded, prompt, settings.replace(seed=settings.seed + run), args.json, draft)
    return 0


def compare(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`compare`: the quantization lens over the prompts file, as a Markdown table."""
    from playground.lens import lens_table, quantization_lens
    from playground.models import ModelLoadError, load_model

    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown or not precisions:
        parser.error(f"argument --precisions: choose from {', '.join(PRECISIONS)}, got {args.precisions!r}")
    prompts = [line.strip() for line in read_text_arg(parser, args.prompts, "--prompts").splitlines() if line.strip()]
    # The only value compare puts into Settings: whatever the field, the flag to fix is this one.
    with bad_values_exit(parser, lambda _field: "--max-new-tokens"):
        settings = Settings(max_new_tokens=args.max_new_tokens)
    if not prompts:
        parser.error(f"argument --prompts: {args.prompts} holds no prompt")
    device_map = device_map_arg(parser, args)
    try:
        reference = load_model(args.model, args.reference, device_map=device_map)
        rows = quantization_lens(
            args.model, precisions, args.reference, prompts, settings, lambda line: print(line, file=sys.stderr),
            device_map=device_map,
        )  # fmt: skip
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.model}: {len(prompts)} prompts, {args.max_new_tokens} greedy tokens each, on "
        f"{reference.info.device}; KL(precision || {args.reference}) in nats per token, along each precision's "
        "own greedy text"
    )
    print(lens_table(rows, args.reference, reference.info.memory_mb))
    return 0


def mass(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`mass`: the continuations of the prompt as an indented tree (or JSON), with the mass below the
    threshold as "other" at each node."""
    from playground.engine.mass import mass_tree

    with bad_values_exit(parser, lambda field: MASS_FLAGS.get(field, field_flag(field))):
        settings = settings_from_args(args)
        prompt = _prompt_arg(parser, args)
        check_prompt(prompt, settings.limits)
    loaded = load_or_say(parser, args)
    if loaded is None:
        return 1
    with bad_values_exit(parser):
        tree = mass_tree(loaded, prompt, settings)
    print(tree.to_json() if args.json else mass_text(tree), flush=True)
    return 0


def load_or_say(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The model `--model`, `--precision` and `--device-map` name; None, after one line on stderr saying why,
    when it cannot be loaded (the command then exits with 1)."""
    from playground.models import ModelLoadError, load_model

    device_map = device_map_arg(parser, args)
    try:
        return load_model(args.model, args.precision, device_map=device_map)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def compress(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`compress`: the compressed prompt and a line of counts, or the Compression as JSON."""

    with bad_values_exit(parser, compress_flag):
        prompt = _prompt_arg(parser, args)
        knobs = compress_knobs(prompt, args)  # before the model loads: a bad value is named at once
    loaded = load_or_say(parser, args)
    if loaded is None:
        return 1
    with bad_values_exit(parser, compress_flag):
        output = compress_output(loaded, prompt, args, knobs)
    print(output, flush=True)
    return 0


def lens(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`lens`: the prompt run with the generate flags, then the layer table of --step (or the lens as JSON)."""
    flag = lambda field: lens_flag(field) or field_flag(field)  # noqa: E731
    with bad_values_exit(parser, flag):
        settings = settings_from_args(args)
        prompt = _prompt_arg(parser, args)
        check_prompt(prompt, settings.limits)
    return print_output(parser, args, flag, lambda loaded: lens_output(loaded, prompt, settings, args))


def fork(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`fork`: the prompt run with the generate flags, then the forking analysis as a table (or JSON)."""
    flag = lambda field: fork_flag(field) or field_flag(field)  # noqa: E731
    with bad_values_exit(parser, flag):
        settings = settings_from_args(args)
        prompt = _prompt_arg(parser, args)
        check_prompt(prompt, settings.limits)
        request = fork_request(args)  # before the model loads: a bad value is named at once
    return print_output(parser, args, flag, lambda loaded: fork_output(loaded, prompt, settings, request, args.json))


def print_output(parser: argparse.ArgumentParser, args: argparse.Namespace, flag, output_of) -> int:
    """Loads the model (`load_or_say`) and prints `output_of(loaded)`, a bad value named by `flag`'s flag (exit 2);
    a model that cannot be loaded, or whose layout the output cannot read (the lens's), exits 1 after one line."""
    from playground.models import ModelLoadError

    loaded = load_or_say(parser, args)
    if loaded is None:
        return 1
    try:
        with bad_values_exit(parser, flag):
            output = output_of(loaded)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(output, flush=True)
    return 0


def mass_text(tree: MassTree) -> str:
    """The tree as indented lines, likeliest first: joint probability, then the path's tokens."""
    lines = []

    def walk(node: MassNode, depth: int) -> None:
        for child in node.children:
            end = "  [end]" if child.ended else ""
            lines.append(f"{'  ' * depth}{child.joint:8.4f}  {show_token(child.text)}{end}")
            walk(child, depth + 1)
        if node.other > 0:
            lines.append(f"{'  ' * depth}{node.other:8.4f}  (other: below {tree.threshold:g})")

    walk(tree.root, 0)
    lines.append(f"[{mass_summary(tree)}]")
    return "\n".join(lines)


def _read_parent(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Trace | None:
    """The --continue-from trace, checked; None without the flag. A problem ends the program with a message."""
    if args.continue_from is None:
        if args.at is not None or args.token is not None:
            parser.error("--at and --token branch a trace: give it with --continue-from TRACE.json")
        return None
    if args.at is None or args.token is None:
        parser.error("--continue-from needs --at STEP and --token ID_OR_TEXT")
    try:
        parent = Trace.from_json(args.continue_from.read_text(encoding="utf-8"))
        parent.validate()
    except OSError as exc:
        parser.error(f"argument --continue-from: cannot read {args.continue_from}: {exc.strerror}")
    except (ValueError, TypeError, KeyError) as exc:
        parser.error(f"argument --continue-from: {args.continue_from} is not a trace: {str(exc)[:200]}")
    return parent


def _prompt_arg(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """--prompt, else the text of --prompt-file; None without either."""
    if args.prompt is not None:
        return args.prompt
    return None if args.prompt_file is None else read_text_arg(parser, args.prompt_file, "--prompt-file")
