"""`python -m playground fork`'s flags and output: the prompt run with the usual generate flags (greedy by default),
then where its answer forks, as a table of positions or as the ForkAnalysis JSON (`cli.py` dispatches it as it
does the other subcommands). Progress goes to stderr."""

from __future__ import annotations

import argparse
import sys

from playground.engine import generate
from playground.fork.outcome import RULES
from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkProgress
from playground.fork.run import fork_analysis
from playground.knobs import whole_arg
from playground.plots.style import show_token
from playground.settings import Limits, Settings

# The fork-only fields a SettingsError can name, and their flags.
FORK_FLAGS = {
    "samples": "--samples",
    "alternatives": "--alternatives",
    "stride": "--stride",
    "max_positions": "--positions",
    "max_new_tokens": "--continuation-tokens",
    "threshold": "--tv-threshold",
    "outcome_rule": "--rule",
    "outcome_pattern": "--pattern",
    "max_fork_tokens": "--samples",  # the budget: fewer samples (or positions, tokens) bring it under
}
TOP_OUTCOMES = 3  # outcomes listed per position in the table


def add_fork_flags(parser: argparse.ArgumentParser) -> None:
    """The `fork` subcommand's own flags (the prompt, model and knob flags are `generate`'s)."""
    default = ForkRequest(limits=Limits())  # the request's defaults are the flags'
    for flag, kind, value, text in (
        ("--samples", whole_arg, default.samples, "continuations per branch (the chosen token and each alternative)"),
        ("--alternatives", whole_arg, default.alternatives,
         "top alternatives sampled besides the chosen token at each position"),
        ("--stride", whole_arg, default.stride, "analyse every STRIDE-th position"),
        ("--positions", whole_arg, default.max_positions, "analyse at most this many positions (the first ones)"),
        ("--continuation-tokens", whole_arg, default.max_new_tokens, "tokens of each continuation"),
        ("--tv-threshold", float, default.threshold,
         "a position whose outcome distribution moves more than this (TV distance) is a change point"),
    ):  # fmt: skip
        parser.add_argument(flag, type=kind, default=value, help=text)
    parser.add_argument(
        "--rule",
        choices=RULES,
        default="auto",
        help="how a text becomes an outcome (auto: the first word for a yes-or-no question, the last "
        "number when the prompt asks another question with a number, else the first word)",
    )
    parser.add_argument("--pattern", default="", help="the marker (--rule marker) or regular expression (--rule regex)")
    parser.add_argument("--json", action="store_true", help="print the whole analysis as JSON")  # fmt: skip


def fork_flag(field: str) -> str | None:
    """The flag of a fork-only field (None for the Settings' own)."""
    return FORK_FLAGS.get(field)


def fork_request(args: argparse.Namespace) -> ForkRequest:
    """The ForkRequest of the flags; SettingsError names a bad one (before the model loads)."""
    return ForkRequest(
        samples=args.samples,
        alternatives=args.alternatives,
        stride=args.stride,
        max_positions=args.positions,
        max_new_tokens=args.continuation_tokens,
        threshold=args.tv_threshold,
        rule=args.rule,
        pattern=args.pattern,
    )


def fork_output(loaded, prompt: str, settings: Settings, request: ForkRequest, as_json: bool) -> str:
    """What `fork` prints: the run's text and the table of positions, or the ForkAnalysis as JSON. Raises
    SettingsError for the budget (the run is made first: its length sets the cost)."""
    trace = generate(loaded, prompt, settings)
    analysis = None
    for item in fork_analysis(loaded, trace, request):
        if isinstance(item, ForkProgress):
            print(f"\rfork: {item.done}/{item.total} branches, position {item.index}", end="", file=sys.stderr)
        else:
            analysis = item
    print(file=sys.stderr)
    return analysis.to_json() if as_json else f"{trace.output.text}\n{fork_table(analysis)}"


def fork_table(analysis: ForkAnalysis) -> str:
    """The analysis as lines: the rule, then per position its index, the run's token there, the TV distance
    (a change point marked *), and o_t's likeliest outcomes; then the change points, the tokens and the time."""
    request = analysis.request
    lines = [f"--- outcome: {analysis.rule}; {request.samples} samples x up to {1 + request.alternatives} branches "
             f"per position, {len(analysis.positions)} positions"]  # fmt: skip
    lines.append(f"{'':2}{'t':>4}  {'token':<14}{'tv':>6}  o_t")
    for position in analysis.positions:
        chosen = next(b.text for b in position.branches if b.token_id == position.chosen_id)
        mark = "*" if position.index in analysis.change_points else ""
        top = " | ".join(f"{name:.24}: {share:.0%}" for name, share in list(position.o.items())[:TOP_OUTCOMES])
        lines.append(f"{mark:2}{position.index:>4}  {show_token(chosen)!r:<14.14}{position.tv:>6.2f}  {top}")
    points = ", ".join(str(i) for i in analysis.change_points) or "none"
    lines.append(f"change points (tv > {request.threshold:g}): {points}")
    rate = analysis.new_tokens / analysis.seconds if analysis.seconds > 0 else 0.0
    ended = f"; ended early ({analysis.stopped})" if analysis.stopped else ""
    cut, total = analysis.cut_short()
    cuts = f"; {cut} of {total} continuations reached --continuation-tokens before they ended" if cut else ""
    rate_line = f"sampled {analysis.new_tokens:,} tokens in {analysis.seconds:.1f} s ({rate:.0f} tokens/s)"
    lines.append(f"{rate_line}{ended}{cuts}")
    return "\n".join(lines)
