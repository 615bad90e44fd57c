"""The run manager, called directly: streamed triples, Stop per browser session, errors a person can read."""

import itertools
import json
import threading

import gradio as gr
import pytest

from playground.engine.compare import first_difference
from playground.models import ModelLoadError
from playground.ui.compare_view import compare_line, compare_views, compared_step
from playground.ui.tokens import trace_html
from tests.ui.conftest import VALUES


def test_run_streams_html_and_status_then_the_trace(runs):
    triples = list(runs.generate(VALUES))
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
    shown, real = threading.Event(), runs.stream

    def stream(*args, **kwargs):
        for update in real(*args, **kwargs):
            yield update
            if update.note is not None:
                assert shown.wait(60), "the page never showed the timing"
                shown.clear()

    monkeypatch.setattr(runs, "stream", stream)
    values = {**VALUES, "strategy": "speculative", "draft_model": "prompt-lookup", "min_new_tokens": 8.0}
    timings = []
    for html, status, trace in runs.generate(values):
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
    triples = list(runs.generate({**VALUES, "strategy": "beam", "num_beams": 3.0}))
    assert triples[0][0].startswith('<span class="plain">')
    assert triples[-1][2].beams is not None and 'data-step="0"' in triples[-1][0]


def test_stop_ends_the_run_at_its_next_step_and_keeps_the_trace(runs):
    values = {**VALUES, "max_new_tokens": 400.0}
    runs.arm("alice")
    run = runs.generate(values, session="alice")
    next(run)
    assert runs.stop("bob") is False  # another visitor's Stop does not touch this run
    assert runs.stop("alice") is True
    *_, (html, status, trace) = run
    assert trace.output.stop_reason == "cancelled" and status.endswith("stopped: stopped by you")
    assert len(trace.steps) < 400 and html == trace_html(trace)
    assert runs.stop("alice") is False


def test_stop_while_waiting_in_the_queue_means_the_run_never_starts(runs):
    runs.arm("carol")
    runs.stop("carol")
    assert list(runs.generate(VALUES, session="carol")) == [("", "Stopped before it started.", None)]


def test_an_abandoned_run_frees_the_model(runs):
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="dave")
    next(run)
    assert runs.default.lock.locked()
    run.close()  # what Gradio does when the browser tab closes
    assert not runs.default.lock.locked()
    assert runs.stop("dave") is False


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
        list(runs.generate({**VALUES, **changes}))
    assert message in err.value.message


def test_status_line_reports_constraints_and_draft_acceptance(runs):
    constrained = {**VALUES, "strategy": "constrained", "force_words": "dog"}
    assert "· constraints met" in list(runs.generate(constrained))[-1][1]
    impossible = {**constrained, "force_words": "elephant", "max_new_tokens": 2.0}
    assert "constraints NOT met" in list(runs.generate(impossible))[-1][1]
    speculative = {**VALUES, "strategy": "speculative", "draft_model": "prompt-lookup"}
    assert "of draft tokens accepted" in list(runs.generate(speculative))[-1][1]


def test_run_json_checks_the_model_against_the_allowlist(runs):
    assert '"schema"' in runs.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 3})
    with pytest.raises(gr.Error, match="not served here"):
        runs.run_json({"prompt": "the cat", "model": "gpt2"})
    with pytest.raises(gr.Error, match="unknown setting 'temprature'"):
        runs.run_json({"prompt": "the cat", "temprature": 0.5})


def test_run_json_takes_whole_numbers_where_floats_go(runs):
    payload = '{"prompt": "the cat sat", "chat": false, "max_new_tokens": 1, "repetition_penalty": 2}'
    trace = json.loads(runs.run_json(payload))
    assert trace["settings"]["repetition_penalty"] == 2.0 and len(trace["output"]["token_ids"]) == 1
    with pytest.raises(gr.Error, match="temperature must be a number, got True"):
        runs.run_json({"prompt": "the cat", "temperature": True})


def test_runs_load_refuses_before_loading_anything(runs):
    with pytest.raises(ModelLoadError, match="not served here"):
        runs.load("../models/secret", "fp32")
    assert runs.load("tiny-random-llama", "fp32") is runs.default


def test_a_tab_gets_one_run_at_a_time(runs):
    runs.arm("erin")
    with pytest.raises(gr.Error, match="This tab already has a run waiting or going"):
        runs.arm("erin")
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="erin")
    next(run)
    with pytest.raises(gr.Error, match="already has a run"):
        runs.arm("erin")
    runs.arm("frank")  # another tab is not held up
    runs.stop("erin")
    list(run)
    runs.arm("erin")  # free again once its run ended


def test_a_closed_tab_stops_its_run_and_is_forgotten(runs):
    runs.arm("gina")
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="gina")
    next(run)
    runs.forget("gina")  # what demo.unload does when the tab closes
    *_, (_, _, trace) = run
    assert trace.output.stop_reason == "cancelled"
    runs.arm("hank")
    runs.forget("hank")  # clicked, still queued, tab closed: nothing is left behind
    assert runs.stop("hank") is False


def test_run_json_never_loads_a_draft_from_a_path(runs):
    payload = {"prompt": "the cat", "strategy": "speculative", "draft_model": "/tmp/evil-model"}
    with pytest.raises(gr.Error, match="model '/tmp/evil-model' is not served here"):
        runs.run_json(payload)
    assert '"schema"' in runs.run_json({**payload, "draft_model": "prompt-lookup", "chat": False})


def test_an_unforeseen_failure_is_one_line_and_the_next_run_works(runs, monkeypatch, caplog):
    import playground.ui.runs as runs_module

    def broken(*args, **kwargs):
        raise RuntimeError("the kernel <fell> over")

    monkeypatch.setattr(runs_module, "stream", broken)
    with pytest.raises(gr.Error) as err:
        list(runs.generate(VALUES, session="ivy"))
    assert err.value.message == (
        "The run failed: RuntimeError: the kernel &lt;fell&gt; over. The details are in the server's log."
    )
    assert "a run failed" in caplog.text
    with pytest.raises(gr.Error, match="The run failed: RuntimeError"):
        runs.run_json({"prompt": "the cat"})
    monkeypatch.undo()
    assert list(runs.generate(VALUES, session="ivy"))[-1][2] is not None


def test_a_branch_streams_the_parents_start_then_the_chosen_token_then_the_rest(runs):
    *_, (_, _, parent) = runs.generate(VALUES)
    token = next(c.id for c in parent.steps[2].candidates if c.id != parent.steps[2].chosen.id)
    # The controls may have moved on (another prompt): a branch continues the run shown, with its prompt.
    values = {**VALUES, "prompt": "something else", "strategy": "sample", "seed": 3.0}
    triples = list(runs.branch(values, parent, 3.0, token, session="kim"))
    html, status, child = triples[-1]
    assert child.prompt.text == parent.prompt.text and child.settings["strategy"] == "sample"
    assert child.output.token_ids[:3] == [*parent.output.token_ids[:2], token]
    assert child.branch.parent == parent.run_id and child.branch.at == 3
    assert 'class="tok ' in triples[0][0] and html == trace_html(child)
    assert html.count(" inherited") == 2 and html.count(" forced") == 1
    assert "branched at step 3" in status
    assert runs.stop("kim") is False  # the session is free again


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
    *_, (_, _, trace) = runs.generate(VALUES)
    runs.arm("lee")
    with pytest.raises(gr.Error) as err:
        list(runs.branch(VALUES, trace if parent == "trace" else parent, step, token, session="lee"))
    assert message in err.value.message
    runs.arm("lee")  # the click's switch went with the refused run


def test_compare_reads_the_shown_run_with_the_current_settings(runs):
    *_, (_, _, parent) = runs.generate(VALUES)
    b = {**VALUES, "strategy": "sample", "temperature": 1.5, "top_k": 5.0, "seed": 2.0}
    comparison = runs.compare(b, parent)
    line, aligned, figure, slider, candidates = compare_views(parent, comparison)
    assert line.startswith("B = tiny-random-llama fp32, Strategy Sampling, Temperature 1.5, Top-k 5, Seed 2")
    # Top-k 5 rules out tokens greedy A's softmax gives some probability: KL is infinite, JS is not. The line
    # names the stage as its control, with B's value, and the token A liked best of those it removed at step 1.
    removed = comparison.steps[0].removed_text
    assert removed and comparison.steps[0].removed_by == "top_k"
    why = f"(B rules out tokens A could take: at step 1, top-k 5 removed {removed!r})"
    assert f"KL(A‖B) infinite at every step {why}" in line and "mean JS" in line
    assert aligned.count('class="aligned-row"') == 2 and aligned.count('class="tok') >= 16
    assert figure.layout.title.text.startswith("A vs B along A's text")
    assert any(t.name == "KL infinite: B rules out tokens A could take" for t in figure.data)
    # The candidates open at the step where A and B are furthest apart; B keeps at most 5 tokens there.
    widest = max(comparison.steps, key=lambda s: s.js)
    assert slider.value == widest.index + 1 and slider.maximum == 8
    assert candidates.layout.title.text.startswith(f"Step {widest.index + 1}: A took")
    assert sum(p > 0 for p in candidates.data[1].x) <= 5
    assert compared_step(comparison, 99).layout.title.text.startswith("Step 8: A took")  # clamped
    same = compare_line(parent, runs.compare(VALUES, parent))
    assert "the same settings" in same and "mean KL(A‖B) 0.0000" in same and "B's own text matches A's" in same


def test_the_compare_line_averages_the_finite_kl_and_counts_the_infinite_steps(runs):
    *_, (_, _, parent) = runs.generate(VALUES)
    comparison = runs.compare(VALUES, parent)
    for row, kl in zip(comparison.steps, [0.5, float("inf"), 0.25, float("inf")], strict=False):
        row.kl = kl
    line = compare_line(parent, comparison)
    finite = [row.kl for row in comparison.steps if row.kl != float("inf")]  # 0.5, 0.25 and six zeros
    assert f"mean KL(A‖B) {sum(finite) / 6:.4f} nats over 6 steps, infinite at 2 (B rules out" in line


def test_compare_endpoint_runs_a_then_compares_b_where_it_differs(runs):
    b = {"strategy": "sample", "top_k": 3, "seed": 7}
    payload = {"prompt": "the cat", "a": {"chat": False, "max_new_tokens": 6}, "b": b}
    answer = json.loads(runs.compare_json(json.dumps(payload)))
    a, comparison = answer["a"], answer["comparison"]
    assert len(comparison["steps"]) == len(a["output"]["token_ids"]) == 6
    assert comparison["b_changes"] == b and comparison["a_run"] == a["run_id"]
    for step, row in zip(a["steps"], comparison["steps"], strict=True):
        # B samples from A's softmax cut to its top 3: the same most likely token, the rest of A's ruled out.
        assert row["token_id"] == step["chosen"]["id"] and row["top1_agree"]
        assert row["kl"] is None and row["uncovered"] > 0  # infinite KL, written as null: JSON has no infinity
        assert row["prob_a"] == pytest.approx(step["chosen"]["prob"], abs=1e-5)
        assert sum(c["prob_b"] > 0 for c in row["candidates"]) == 3
    own = comparison["b_token_ids"]
    assert comparison["first_difference"] == first_difference(a["output"]["token_ids"], own)
    assert len(comparison["b_texts"]) == len(own) == 6
    same = json.loads(runs.compare_json({"prompt": "the cat", "a": {"chat": False, "max_new_tokens": 3}}))
    assert [row["kl"] for row in same["comparison"]["steps"]] == [0.0, 0.0, 0.0]  # B = A when "b" is left out


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("[1]", "payload must be a JSON object of settings"),
        ({"prompt": "x", "c": {}}, "unknown key 'c'"),
        ({"prompt": "x", "a": [1]}, '"a" must be a JSON object of settings'),
        ({"prompt": "x", "a": {"chat": False}, "b": {"top_q": 1}}, "top_q"),
        ({"prompt": "x", "a": {"chat": False}, "b": {"precision": "fp8"}}, "precision 'fp8' is unknown"),
        ({"prompt": "", "a": {"chat": False}}, "prompt must not be empty"),
    ],
)
def test_compare_endpoint_names_what_is_wrong(runs, payload, message):
    with pytest.raises(gr.Error) as err:
        runs.compare_json(payload)
    assert message in err.value.message


def test_compare_needs_a_run_and_names_bad_controls(runs):
    with pytest.raises(gr.Error, match="Generate a run first"):
        runs.compare(VALUES, None)
    *_, (_, _, parent) = runs.generate(VALUES)
    with pytest.raises(gr.Error, match="precision 'fp8' is unknown"):
        runs.compare({**VALUES, "precision": "fp8"}, parent)
    assert "Compare a run" in str(compared_step(None, 1).layout.annotations[0].text)


def test_where_the_mass_goes_reads_the_controls_and_names_bad_ones(runs):
    from playground.plots.mass import mass_figure
    from playground.summary import mass_summary

    values = {**VALUES, "strategy": "sample", "top_k": 3.0, "mass_depth": 2.0, "mass_threshold": 0.01}
    tree = runs.mass(values)
    assert tree.depth == 2 and tree.threshold == 0.01 and len(tree.root.children) <= 3  # top-k 3 at each node
    assert tree.settings["top_k"] == 3 and tree.prompt.text == "the cat"
    line = mass_summary(tree)
    assert line.startswith("tiny-random-llama fp32 · ") and "up to 2 tokens at p ≥ 0.01" in line
    assert "under temperature 1, top-k 3, top-p 1 · " in line  # the knobs that shaped it, as a lesson checks
    fig = mass_figure(tree)
    assert fig.data[0].type == "sunburst" and fig.layout.title.text.startswith("Where the mass goes: ")
    with pytest.raises(gr.Error, match="Depth"):
        runs.mass({**values, "mass_depth": 9.0})
    answer = json.loads(runs.mass_json({"prompt": "the cat", "chat": False, "mass_depth": 1, "mass_threshold": 0.05}))
    assert answer["depth"] == 1 and all(c["joint"] >= 0.05 for c in answer["root"]["children"])
    with pytest.raises(gr.Error, match="unknown"):
        runs.mass_json({"prompt": "the cat", "mass_deep": 1})


def test_sample_many_streams_the_first_sample_and_generate_makes_one_run(runs):
    from playground.ui.views import sample_views

    values = {**VALUES, "num_samples": 6.0, "seed": 4.0, "temperature": 1.2}  # greedy chosen: many samples
    *steps, (html, status, trace) = runs.generate(values, many=True)
    assert trace.settings["strategy"] == "sample" and [s.seed for s in trace.samples.samples] == list(range(4, 10))
    assert status.startswith("tiny-random-llama fp32 · 6 samples, ") and html == trace_html(trace)
    assert "(sampled at temperature 1.2, top-k 50, top-p 1)" in status  # says so, though Greedy was chosen
    assert any(text.count('class="tok') for text, _, _ in steps)  # the first sample's tokens as they come
    tree, ranked, diversity, pick, kept = sample_views(trace)
    assert tree.data[0].type == "sunburst" and tree.data[0].values[0] == 6
    assert ranked.layout.title.text.endswith("among 6 samples (the " + f"{len(ranked.data[0].y)} most frequent)")
    assert diversity.data[1].y[0] == 6  # every sample writes a first token
    assert kept is trace and [seed for _, seed in pick.choices] == list(range(4, 10))
    *_, (_, _, single) = runs.generate(values)  # Generate: one run, whatever the Samples control says
    assert single.samples is None and single.settings["strategy"] == "greedy"
    assert sample_views(single) == tuple(gr.update() for _ in range(5))  # the samples stay in view
    assert "Sample many" in sample_views(None).samples_plot.layout.annotations[0].text
    # Opening a sample runs its seed alone: the same tokens, now with every step's candidates.
    *_, (_, status, opened) = runs.open_sample(trace, 7.0)
    sample = trace.samples.samples[3]
    assert opened.output.token_ids == sample.token_ids and opened.settings["seed"] == 7 and opened.samples is None
    assert len(opened.steps) == len(sample.token_ids) and all(step.candidates for step in opened.steps)
    for odd, message in ((None, "Sample many"), (trace, "Pick a sample")):
        with pytest.raises(gr.Error, match=message):
            list(runs.open_sample(odd, 99 if odd else 4))
