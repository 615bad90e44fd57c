"""The one-line summary of a run, on tiny random models: what it measures for each kind of strategy."""

import re

import pytest

from playground.engine import generate
from playground.settings import Settings
from playground.summary import summary
from playground.ui.status import status_line
from tests.helpers import run

PROMPT = "the cat sat on the mat and"


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="beam", num_beams=3),
        dict(strategy="constrained", num_beams=3, force_words=("dog",), force_one_of=(("red", "blue"),)),
    ],
    ids=["beam", "constrained"],
)
def test_a_beam_search_reports_its_wall_time_and_the_candidates_it_scored(tiny_loaded, knobs):
    trace = generate(tiny_loaded, PROMPT, Settings(chat=False, max_new_tokens=12, **knobs))
    line = summary(trace)
    # Not the answer's tokens over the whole search's time: that rate is no speed anything decoded at.
    assert "tokens/s" not in line
    tokens, seconds = len(trace.output.token_ids), trace.timing.total_s
    work = f"· {tokens} tokens · {seconds:.2f} s · 3 beams scored {len(trace.beams.nodes):,} candidates · stopped: "
    assert work in line
    # The page's status line says the same, and still reads "· N tokens ·" as every strategy's does.
    assert int(re.search(r"· (\d+) tokens ·", status_line(line)).group(1)) == tokens


def test_thousands_of_candidates_read_with_separators(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(strategy="beam", num_beams=3, chat=False, max_new_tokens=2))
    trace.beams.nodes *= 600  # the count only: a long constrained search weighs thousands
    assert f"3 beams scored {len(trace.beams.nodes) // 1000},{len(trace.beams.nodes) % 1000:03d} candidates" in (
        summary(trace)
    )


def test_other_strategies_keep_their_tokens_per_second(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(chat=False, max_new_tokens=4))
    line = summary(trace)
    tokens = len(trace.output.token_ids)
    assert f"· {tokens} tokens · {trace.timing.tokens_per_s:.1f} tokens/s · {trace.timing.total_s:.2f} s · " in line
    assert "beams scored" not in line


def test_one_token_reads_as_one_token(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(chat=False, max_new_tokens=1, min_new_tokens=1))
    assert len(trace.output.token_ids) == 1
    # "1 tokens" may not stand as words; "574.1 tokens/s", the speed, holds those characters and is right.
    assert " · 1 token · " in summary(trace) and not re.search(r"(?<![\d.])1 tokens\b", summary(trace))
    assert int(re.search(r"· (\d+) tokens? ·", status_line(summary(trace))).group(1)) == 1


def test_a_mass_trees_line_names_the_stages_its_run_applies_in_their_order(tiny_loaded):
    from playground.engine.mass import mass_tree
    from playground.summary import mass_summary

    def line(**knobs) -> str:
        settings = Settings(chat=False, mass_depth=1, mass_threshold=0.05, **knobs)
        return mass_summary(mass_tree(tiny_loaded, PROMPT, settings))

    # Not a fixed "temperature 1, top-k 0, top-p 1": what the run applies, named as its controls with their values.
    assert " under min-p 0.05 → XTC 0.5 · " in line(strategy="sample", top_k=0, xtc_probability=0.5, min_p=0.05)
    assert " under top-k 40 → temperature 0.7 · " in line(strategy="sample", top_k=40, temperature=0.7,
                                                          temperature_last=True)  # fmt: skip
    # Greedy applies the penalties only; with none, the model's own probabilities.
    assert " under repetition penalty 1.3 · " in line(repetition_penalty=1.3, temperature=0.5)
    assert " under the model's own probabilities (no stage changes them) · " in line(strategy="sample", top_k=0)


def test_an_automatic_draft_says_how_many_rounds_each_source_drafted(tiny_loaded):
    settings = Settings(strategy="speculative", chat=False, max_new_tokens=24)  # draft_model "auto", the default
    trace = run(tiny_loaded, "the cat sat on the mat and the cat sat on the", settings)  # with load_draft's draft
    line = summary(trace)
    assert trace.speculative.draft.source == "auto"
    counts = {s: sum(r.source == s for r in trace.speculative.rounds) for s in ("prompt-lookup", "none")}
    wanted = [f"{counts['prompt-lookup']} by prompt lookup"] if counts["prompt-lookup"] else []
    if counts["none"]:
        wanted.append(f"{counts['none']} plain step" + ("s" if counts["none"] > 1 else ""))
    assert f"tokens per target pass, rounds: {', '.join(wanted)}" in line
