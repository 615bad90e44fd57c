"""What the "Where does the answer fork?" tab says and shows besides its figure: the rule in force in words, one line
on the finished (or stopped) analysis, and one position's branches (token, p, weight, the outcomes' histogram, each
sample's text and outcome).

Pure functions of a `ForkAnalysis` and the rule: nothing here runs the model.
"""

from __future__ import annotations

import html
from typing import Any

from playground.fork.outcome import OutcomeRule, auto_choice, resolve_rule
from playground.fork.result import ForkAnalysis, ForkBranch, ForkPosition
from playground.plots.forks import NONE_LABEL, outcome_colours
from playground.plots.style import preview, show_token
from playground.settings import SettingsError
from playground.words import counted

WEIGHTS_NOTE = (
    "Each branch's weight is its probability p renormalised over the tokens sampled at this position (the chosen "
    "one and the top alternatives), so the weights add up to 1; o_t is the weighted sum of their histograms."
)
STOPPED = {
    "stopped": "Stopped: the positions analysed so far are kept and drawn; the rest were not sampled.",
    "max_time": "The run's time limit ended the analysis: the positions analysed so far are kept and drawn.",
}
PICK = "Click a bar of the figure to see that position's branches and their samples."


def rule_line(kind: Any, pattern: Any, prompt: str) -> str:
    """The outcome rule in force, in words (`OutcomeRule.describe`); "auto" says what it chose and why. A rule
    that cannot be used says what is wrong instead."""
    try:
        rule = resolve_rule(str(kind or "auto"), str(pattern or ""), prompt)
    except SettingsError as exc:
        return f"**Outcome rule:** cannot be used: {html.escape(str(exc), quote=False)}"
    return f"**Outcome rule:** {html.escape(_chosen(kind, rule, prompt), quote=False)}"


def _chosen(kind: Any, rule: OutcomeRule, prompt: str) -> str:
    if kind in (None, "", "auto"):
        why = auto_choice(prompt)[1]
        return f"auto chose {rule.describe()} ({why})."
    return f"{rule.describe()}."


def analysis_line(analysis: ForkAnalysis) -> str:
    """One line on a finished analysis: the rule, positions and change points, tokens sampled and time; and, when
    it ended early, why and that what was made is kept."""
    request = analysis.request
    points = ", ".join(str(index + 1) for index in analysis.change_points) or "none"
    line = (
        f"Outcome: {analysis.rule} · {counted(len(analysis.positions), 'position')} analysed · change points (TV > "
        f"{request.threshold:g}) at steps: {points} · {analysis.new_tokens} tokens sampled in {analysis.seconds:.1f} s"
    )
    line += cut_note(analysis)
    return line if analysis.stopped is None else f"{STOPPED.get(analysis.stopped, analysis.stopped)} {line}"


def cut_note(analysis: ForkAnalysis) -> str:
    """Where continuations were cut at Continuation length (`ForkAnalysis.cut_short`): how many, and that their
    outcomes may not be final; empty when every one ended on its own."""
    cut, total = analysis.cut_short()
    if not cut:
        return ""
    return (f" · {cut} of {total} continuations reached Continuation length before they ended: their outcome may "
            "not be their last (a longer length lets them finish)")  # fmt: skip


def progress_line(done: int, total: int, index: int) -> str:
    """The status while the analysis runs: branches sampled of all, and the step being sampled."""
    return f"Sampling the branches at step {index + 1}… {done} of {total} branches done. Stop keeps what is made."


def position_of(analysis: ForkAnalysis | None, index: Any) -> ForkPosition | None:
    """The analysed position at step `index` (0-based), or None."""
    if analysis is None or isinstance(index, bool) or not isinstance(index, int | float):
        return None
    return next((position for position in analysis.positions if position.index == int(index)), None)


def branches_html(analysis: ForkAnalysis | None, index: Any, before: str = "") -> str:
    """The branches of the position at step `index`: the weights' note, then per branch (the run's own token first)
    its token, p, weight and histogram, and its samples' texts with their outcomes (each text from the branch's
    token on, where it starts with `before`, the run's text before the position)."""
    position = position_of(analysis, index)
    if position is None:
        return f'<div class="fork-branches"><p>{PICK}</p></div>'
    colours = outcome_colours(analysis.outcomes)
    shares = " · ".join(f"{_label(o)} {share:.2f}" for o, share in sorted(position.o.items(), key=lambda x: -x[1]))
    head = (
        f"<p><b>Step {position.index + 1}</b> · o_t: {shares} · TV from the previous position {position.tv:.2f}</p>"
        f'<p class="fork-note">{WEIGHTS_NOTE}</p>'
    )
    rows = "".join(
        _branch_html(branch, branch.token_id == position.chosen_id, colours, before) for branch in position.branches
    )
    return f'<div class="fork-branches">{head}{rows}</div>'


def _branch_html(branch: ForkBranch, chosen: bool, colours: dict[str, str], before: str) -> str:
    """One branch: a title line, its histogram, then its samples as a list."""
    mark = " (the run's own token)" if chosen else ""
    hist = " · ".join(
        f"{_label(o)} {share:.2f}" for o, share in sorted(branch.histogram().items(), key=lambda x: -x[1])
    )
    samples = "".join(
        f'<li><span class="fork-outcome" style="border-color:{colours.get(_key(outcome), "#999999")}">'
        f"{_label(_key(outcome))}</span> {html.escape(preview(_after(sample.text, before), 160))}</li>"
        for sample, outcome in zip(branch.samples, branch.outcomes, strict=True)
    )
    return (
        f'<div class="fork-branch"><p><b>{html.escape(show_token(branch.text))}</b>{mark} · p {branch.prob:.3f} · '
        f"weight {branch.weight:.3f} · histogram: {hist}</p><ol>{samples}</ol></div>"
    )


def _after(text: str, before: str) -> str:
    """A sample's text from its branch's token on: "…" for the run's text before the position, when it starts so."""
    return "…" + text[len(before) :] if before and text.startswith(before) else text


def _key(outcome: str | None) -> str:
    return NONE_LABEL if outcome is None else outcome


def _label(outcome: str) -> str:
    return html.escape(outcome if outcome == NONE_LABEL else repr(outcome), quote=False)
