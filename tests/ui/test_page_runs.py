"""The page's runs, called directly: streamed triples, Stop per browser session, errors a person can read."""

import itertools
import threading

import gradio as gr
import pytest

from playground.ui.tokens import trace_html
from tests.ui.conftest import VALUES


def test_run_streams_html_and_status_then_the_trace(runs):
    triples = list(runs.page.generate(VALUES))
    assert all(trace is None for _, _, trace in triples[:-1])
    assert all(status.startswith("Generating… step ") for _, status, _ in triples[:-1])
    html, status, trace = triples[-1]
    assert html == trace_html(trace) and html.count('class="tok ') == len(trace.steps) == 8
    # While streaming, the Output only grows at its end (so Gradio can send it as a short diff).
    shown = [h for h, _, _ in triples]
    assert all(b.startswith(a) for a, b in itertools.pairwise(shown))
    assert status.startswith("tiny-random-llama fp32 · 8 tokens · ") and "tokens/s" in status
    assert status.endswith(("stopped: max new tokens reached", "stopped: end of sequence"))


def test_the_status_line_says_when_the_run_times_its_speedup(runs, monkeypatch):
    """After the last step the Output keeps every token while the status line names each timing. The run waits
    at each timing until the page has shown it, so no update is merged with the next one."""
    shown, real = threading.Event(), runs.gate.stream

    def stream(*args, **kwargs):
        for update in real(*args, **kwargs):
            yield update
            if update.note is not None:
                assert shown.wait(60), "the page never showed the timing"
                shown.clear()

    monkeypatch.setattr(runs.gate, "stream", stream)
    values = {**VALUES, "strategy": "speculative", "draft_model": "prompt-lookup", "min_new_tokens": 8.0}
    timings = []
    for html, status, trace in runs.page.generate(values):
        final = trace
        if status.startswith("Measuring the speed-up"):
            timings.append(status)
            assert html.count('class="tok ') == 8  # every token of the run stays shown
            shown.set()
    assert timings == [
        f"Measuring the speed-up: timing {kind} decoding, {n} of 6"
        for n, kind in zip(range(2, 7), ["plain", "speculative", "plain", "speculative", "plain"], strict=True)
    ]
    assert final.speculative.speedup_pairs and "over 3 pairs" in status


def test_beam_search_streams_its_running_best_as_plain_text(runs):
    triples = list(runs.page.generate({**VALUES, "strategy": "beam", "num_beams": 3.0}))
    assert triples[0][0].startswith('<span class="plain">')
    assert triples[-1][2].beams is not None and 'data-step="0"' in triples[-1][0]


def test_stop_ends_the_run_at_its_next_step_and_keeps_the_trace(runs):
    values = {**VALUES, "max_new_tokens": 400.0}
    runs.switches.arm("alice")
    run = runs.page.generate(values, session="alice")
    next(run)
    assert runs.switches.stop("bob") is False  # another visitor's Stop does not touch this run
    assert runs.switches.stop("alice") is True
    *_, (html, status, trace) = run
    assert trace.output.stop_reason == "cancelled" and status.endswith("stopped: stopped by you")
    assert len(trace.steps) < 400 and html == trace_html(trace)
    assert runs.switches.stop("alice") is False


def test_stop_while_waiting_in_the_queue_means_the_run_never_starts(runs):
    runs.switches.arm("carol")
    runs.switches.stop("carol")
    assert list(runs.page.generate(VALUES, session="carol")) == [("", "Stopped before it started.", None)]


def test_an_abandoned_run_frees_the_model(runs):
    run = runs.page.generate({**VALUES, "max_new_tokens": 400.0}, session="dave")
    next(run)
    assert runs.gate.default.lock.locked()
    run.close()  # what Gradio does when the browser tab closes
    assert not runs.gate.default.lock.locked()
    assert runs.switches.stop("dave") is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(strategy="<b>beam</b>"), "strategy must be one of greedy, sample, beam, constrained, speculative, "
         "got '&lt;b&gt;beam&lt;/b&gt;'"),
        (dict(model="/etc/passwd"), "model '/etc/passwd' is not served here; choose one of: tiny-random-llama"),
        (dict(precision="fp8"), "precision 'fp8' is unknown"),
        (dict(chat="markdown"), "Chat template: chat must be"),
        (dict(stop=None, strategy="beam", num_return_sequences=9.0), "Return sequences: num_return_sequences"),
        (dict(prompt="  "), "prompt must not be empty"),
    ],
)  # fmt: skip
def test_bad_input_becomes_a_gradio_error_naming_it(runs, changes, message):
    with pytest.raises(gr.Error) as err:
        list(runs.page.generate({**VALUES, **changes}))
    assert message in err.value.message


def test_status_line_reports_constraints_and_draft_acceptance(runs):
    constrained = {**VALUES, "strategy": "constrained", "force_words": "dog"}
    assert "· constraints met" in list(runs.page.generate(constrained))[-1][1]
    impossible = {**constrained, "force_words": "elephant", "max_new_tokens": 2.0}
    assert "constraints NOT met" in list(runs.page.generate(impossible))[-1][1]
    speculative = {**VALUES, "strategy": "speculative", "draft_model": "prompt-lookup"}
    assert "of draft tokens accepted" in list(runs.page.generate(speculative))[-1][1]


def test_a_tab_gets_one_run_at_a_time(runs):
    runs.switches.arm("erin")
    with pytest.raises(gr.Error, match="This tab already has a run waiting or going"):
        runs.switches.arm("erin")
    run = runs.page.generate({**VALUES, "max_new_tokens": 400.0}, session="erin")
    next(run)
    with pytest.raises(gr.Error, match="already has a run"):
        runs.switches.arm("erin")
    runs.switches.arm("frank")  # another tab is not held up
    runs.switches.stop("erin")
    list(run)
    runs.switches.arm("erin")  # free again once its run ended


def test_a_closed_tab_stops_its_run_and_is_forgotten(runs):
    runs.switches.arm("gina")
    run = runs.page.generate({**VALUES, "max_new_tokens": 400.0}, session="gina")
    next(run)
    runs.switches.forget("gina")  # what demo.unload does when the tab closes
    *_, (_, _, trace) = run
    assert trace.output.stop_reason == "cancelled"
    runs.switches.arm("hank")
    runs.switches.forget("hank")  # clicked, still queued, tab closed: nothing is left behind
    assert runs.switches.stop("hank") is False


def test_an_unforeseen_failure_is_one_line_and_the_next_run_works(runs, monkeypatch, caplog):
    import playground.ui.gate as gate_module

    def broken(*args, **kwargs):
        raise RuntimeError("the kernel <fell> over")

    monkeypatch.setattr(gate_module, "stream", broken)
    with pytest.raises(gr.Error) as err:
        list(runs.page.generate(VALUES, session="ivy"))
    assert err.value.message == (
        "The run failed: RuntimeError: the kernel &lt;fell&gt; over. The details are in the server's log."
    )
    assert "a run failed" in caplog.text
    with pytest.raises(gr.Error, match="The run failed: RuntimeError"):
        runs.api.run_json({"prompt": "the cat"})
    monkeypatch.undo()
    assert list(runs.page.generate(VALUES, session="ivy"))[-1][2] is not None


def test_a_branch_streams_the_parents_start_then_the_chosen_token_then_the_rest(runs):
    *_, (_, _, parent) = runs.page.generate(VALUES)
    token = next(c.id for c in parent.steps[2].candidates if c.id != parent.steps[2].chosen.id)
    # The controls may have moved on (another prompt): a branch continues the run shown, with its prompt.
    values = {**VALUES, "prompt": "something else", "strategy": "sample", "seed": 3.0}
    triples = list(runs.page.branch(values, parent, 3.0, token, session="kim"))
    html, status, child = triples[-1]
    assert child.prompt.text == parent.prompt.text and child.settings["strategy"] == "sample"
    assert child.output.token_ids[:3] == [*parent.output.token_ids[:2], token]
    assert child.branch.parent == parent.run_id and child.branch.at == 3
    assert 'class="tok ' in triples[0][0] and html == trace_html(child)
    assert html.count(" inherited") == 2 and html.count(" forced") == 1
    assert "branched at step 3" in status
    assert runs.switches.stop("kim") is False  # the session is free again


@pytest.mark.parametrize(
    ("parent", "step", "token", "message"),
    [
        (None, 1, 5, "Generate a run first"),
        ("trace", 1, None, 'Pick a token under "Take instead" first'),
        ("trace", 99, 5, "the step to branch at must be 1 to 9 for this run, got 99"),
        ("trace", 2, "x", "the token to take must be a token id"),
    ],
)
def test_a_bad_branch_is_named_and_frees_the_tab(runs, parent, step, token, message):
    *_, (_, _, trace) = runs.page.generate(VALUES)
    runs.switches.arm("lee")
    with pytest.raises(gr.Error) as err:
        list(runs.page.branch(VALUES, trace if parent == "trace" else parent, step, token, session="lee"))
    assert message in err.value.message
    runs.switches.arm("lee")  # the click's switch went with the refused run


def test_sample_many_streams_the_first_sample_and_generate_makes_one_run(runs):
    from playground.ui.views import sample_views

    values = {**VALUES, "num_samples": 6.0, "seed": 4.0, "temperature": 1.2}  # greedy chosen: many samples
    *steps, (html, status, trace) = runs.page.generate(values, many=True)
    assert trace.settings["strategy"] == "sample" and [s.seed for s in trace.samples.samples] == list(range(4, 10))
    assert status.startswith("tiny-random-llama fp32 · 6 samples, ") and html == trace_html(trace)
    assert "(sampled at temperature 1.2, top-k 50, top-p 1)" in status  # says so, though Greedy was chosen
    assert any(text.count('class="tok') for text, _, _ in steps)  # the first sample's tokens as they come
    tree, ranked, diversity, pick, kept = sample_views(trace)
    assert tree.data[0].type == "sunburst" and tree.data[0].values[0] == 6
    assert ranked.layout.title.text.endswith("among 6 samples (the " + f"{len(ranked.data[0].y)} most frequent)")
    assert diversity.data[1].y[0] == 6  # every sample writes a first token
    assert kept is trace and [seed for _, seed in pick.choices] == list(range(4, 10))
    *_, (_, _, single) = runs.page.generate(values)  # Generate: one run, whatever the Samples control says
    assert single.samples is None and single.settings["strategy"] == "greedy"
    assert sample_views(single) == tuple(gr.update() for _ in range(5))  # the samples stay in view
    assert "Sample many" in sample_views(None).samples_plot.layout.annotations[0].text
    # Opening a sample runs its seed alone: the same tokens, now with every step's candidates.
    *_, (_, status, opened) = runs.page.open_sample(trace, 7.0)
    sample = trace.samples.samples[3]
    assert opened.output.token_ids == sample.token_ids and opened.settings["seed"] == 7 and opened.samples is None
    assert len(opened.steps) == len(sample.token_ids) and all(step.candidates for step in opened.steps)
    for odd, message in ((None, "Sample many"), (trace, "Pick a sample")):
        with pytest.raises(gr.Error, match=message):
            list(runs.page.open_sample(odd, 99 if odd else 4))
