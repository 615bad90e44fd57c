"""The one-line summary of a run, on tiny random models: what it measures for each kind of strategy."""

import re

import pytest

from playground.engine import generate
from playground.settings import Settings
from playground.summary import summary
from playground.ui.status import status_line

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
