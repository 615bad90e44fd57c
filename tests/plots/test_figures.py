"""Every figure builder on fixed traces from tiny models: structure, colours, labels, and clear refusals."""

import json
import math

import pytest

from playground.engine import generate
from playground.plots import acceptance_figure, beam_tree_figure, overview_figure, stage_figure
from playground.plots.beam_tree import STATUS_STYLE
from playground.plots.style import GREEN, VERMILLION, show_token
from playground.settings import Settings
from playground.stages import CHAIN

PROMPT = "the cat sat on the mat and the cat"


@pytest.fixture(scope="module")
def traces(tiny_tokenizer):
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    base = dict(chat=False, max_new_tokens=24, min_new_tokens=24)
    return {
        "sample": generate(loaded, PROMPT, Settings(strategy="sample", temperature=0.7, top_k=8, top_p=0.8, **base)),
        "greedy": generate(loaded, PROMPT, Settings(chat=False, max_new_tokens=24)),
        "beam": generate(loaded, PROMPT, Settings(strategy="beam", num_beams=4, num_return_sequences=2, **base)),
        "constrained": generate(
            loaded, PROMPT, Settings(strategy="constrained", num_beams=3, force_words=("dog",), **base)
        ),
        "speculative": generate(
            loaded, PROMPT, Settings(strategy="speculative", draft_model="prompt-lookup", num_draft_tokens=3, **base)
        ),
    }


def test_show_token_makes_whitespace_visible():
    assert show_token(" the") == "␣the" and show_token("\n") == "⏎" and show_token("") == "∅"
    assert show_token("a b") == "a b"
    assert show_token(" ") == "␣" and show_token("   ") == "␣␣␣" and show_token(" a  ") == "␣a␣␣"


def test_stage_figure_has_a_bar_group_per_stage_and_cuts_removed_tokens(traces):
    trace = traces["sample"]
    fig = stage_figure(trace, 3)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["raw", "after Min new tokens", "after Temperature", "after Top-k", "after Top-p"]
    assert all(len(b.x) == 20 for b in bars)
    step = trace.steps[3]
    cut = [a.text for a in fig.layout.annotations if a.text.startswith("✂")]
    assert len(cut) == sum(c.removed_by is not None for c in step.candidates) >= 12  # top-k keeps 8 of 20
    assert {a.font.color for a in fig.layout.annotations if a.text.startswith("✂")} == {VERMILLION}
    cumulative = next(t for t in fig.data if t.type == "scatter")
    assert cumulative.y[-1] <= 1.0 + 1e-6 and list(cumulative.y) == sorted(cumulative.y)
    assert any(s.y0 == 0.8 for s in fig.layout.shapes)  # the top-p line
    assert "Step 4: chose" in fig.layout.title.text


def test_stage_figure_for_greedy_shows_the_raw_distribution(traces):
    fig = stage_figure(traces["greedy"], 0)
    assert [b.name for b in fig.data if b.type == "bar"] == ["raw", "final"]
    with pytest.raises(IndexError):
        stage_figure(traces["greedy"], 99)


def test_overview_plots_every_step(traces):
    trace = traces["sample"]
    fig = overview_figure(trace)
    prob, ent = fig.data
    assert list(prob.x) == list(range(1, 25)) and list(prob.y) == [s.chosen.prob for s in trace.steps]
    assert list(ent.y) == [s.entropy for s in trace.steps]


def test_beam_tree_draws_every_node_in_its_status_style(traces):
    trace = traces["beam"]
    fig = beam_tree_figure(trace)
    drawn = {t.name: t for t in fig.data if t.name in STATUS_STYLE}
    counts = {status: sum(n.status == status for n in trace.beams.nodes) for status in STATUS_STYLE}
    for status, trace_ in drawn.items():
        symbol, colour, _ = STATUS_STYLE[status]
        assert len(trace_.x) == counts[status] and trace_.marker.symbol == symbol and trace_.marker.color == colour
    assert sum(len(t.x) for t in drawn.values()) == len(trace.beams.nodes)
    assert counts["returned"] == 2 and drawn["returned"].marker.color == GREEN
    assert fig.layout.yaxis.autorange == "reversed"


def test_constrained_tree_colours_by_bank_and_marks_forced_tokens(traces):
    fig = beam_tree_figure(traces["constrained"])
    kept = next(t for t in fig.data if t.name == "kept")
    assert kept.marker.colorscale and max(kept.marker.color) > 0
    assert VERMILLION in kept.marker.line.color
    assert ", 1 constraint (outline = advanced one)" in fig.layout.title.text  # one forced word


def test_long_trees_scroll(tiny_tokenizer):
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=2, eos_boost=0.1), tiny_tokenizer)
    trace = generate(
        loaded, PROMPT, Settings(strategy="beam", num_beams=8, chat=False, max_new_tokens=64, min_new_tokens=64)
    )
    fig = beam_tree_figure(trace)
    assert fig.layout.xaxis.rangeslider.visible and tuple(fig.layout.xaxis.range) == (0.5, 24.5)
    assert len(json.dumps(fig.to_plotly_json(), default=str)) < 1_000_000


def test_acceptance_figure_colours_accepted_and_rejected_tokens(traces):
    trace = traces["speculative"]
    fig = acceptance_figure(trace)
    accepted = next(t for t in fig.data if t.name == "accepted")
    rejected = next(t for t in fig.data if t.name == "rejected")
    proposed = [t for r in trace.speculative.rounds for t in r.proposed]
    unchecked = next(t for t in fig.data if t.name == "not checked")
    assert len(accepted.x) == sum(t.accepted is True for t in proposed)
    assert len(rejected.x) == sum(t.accepted is False for t in proposed)
    assert len(accepted.x) + len(rejected.x) + len(unchecked.x) == len(proposed)
    assert accepted.marker.color == GREEN and rejected.marker.color == VERMILLION
    measured = next(t for t in fig.data if t.name == "measured")
    assert len(measured.x) == len(trace.speculative.rounds)
    assert "of draft tokens accepted" in fig.layout.title.text


def test_figures_refuse_traces_without_their_data(traces):
    with pytest.raises(ValueError, match="no beam tree"):
        beam_tree_figure(traces["greedy"])
    with pytest.raises(ValueError, match="no draft rounds"):
        acceptance_figure(traces["beam"])


def test_acceptance_figure_reports_the_measured_speedup_when_there_is_one(tiny_tokenizer):
    from playground.engine import generate
    from playground.plots import acceptance_figure
    from playground.settings import Settings
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0), tiny_tokenizer)
    settings = Settings(strategy="speculative", chat=False, max_new_tokens=12, draft_model="prompt-lookup")
    assert "speed-up" not in acceptance_figure(generate(loaded, "the cat the cat", settings)).layout.title.text
    trace = generate(loaded, "the cat the cat", settings.replace(measure_speedup=True))
    title = acceptance_figure(trace).layout.title.text
    assert f"measured speed-up over plain decoding: {trace.speculative.speedup:.2f}×" in title


def test_the_figures_need_neither_torch_nor_transformers():
    # Figures are pure functions of a trace: a saved trace is drawn without the model's libraries.
    import subprocess
    import sys

    code = "import sys, playground.plots; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_divergence_figure_draws_infinite_kl_at_the_top_and_marks_where_b_goes_its_way():
    from playground.plots import divergence_figure
    from playground.trace import Comparison, StepDivergence

    def row(i, kl, uncovered=0.0):
        return StepDivergence(i, 5, kl, uncovered, 0.1 * i, 0.2, i != 2, 0.5, 0.25, 2)

    steps = [row(0, 0.2), row(1, math.inf, 0.03), row(2, 0.4)]
    steps[1].removed_id, steps[1].removed_text, steps[1].removed_by = 8, " <the>", "top_k"
    comparison = Comparison("abc", "m", "bf16", {"temperature": 1.5}, steps, [5, 6, 7], ["a", "b", "c"], 1)
    fig = divergence_figure(comparison, ["x", "y", "z"], {"temperature": 1.5, "top_k": 50})
    names = [t.name for t in fig.data]
    assert names == ["Jensen-Shannon (nats)", "KL(A || B) (nats)", "KL infinite: B rules out tokens A could take",
                     "B's probability of A's token"]  # fmt: skip
    kl = fig.data[1].y
    assert kl[0] == 0.2 and kl[1] is None and kl[2] == 0.4  # the infinite step is left out of the line...
    assert list(fig.data[2].x) == [2] and fig.data[2].y[0] > 0.4  # ...and drawn above the rest
    # ...with the stage that removed a token A could take, as the page names its control, and that token.
    assert fig.data[2].customdata[0][2] == "top-k 50 removed ' &lt;the&gt;'"
    assert any("differs from step 2" in a.text for a in fig.layout.annotations)
    assert "agree at 67% of steps" in fig.layout.title.text


def test_why_kl_is_infinite_names_bs_stage_as_its_control_and_the_token_it_removed():
    from playground.plots.compare import RULES_OUT, why_infinite
    from playground.trace import StepDivergence

    b = Settings(strategy="sample", temperature=0.3, top_k=50, top_p=0.9, no_repeat_ngram_size=3).to_dict()

    def why(stage, text=" the"):
        step = StepDivergence(0, 5, math.inf, 0.1, 0.2, 0.1, True, 0.5, 0.4, 1)
        step.removed_id, step.removed_text, step.removed_by = 7, text, stage
        return why_infinite(step, b)

    assert why("top_k") == "top-k 50 removed ' the'"
    assert why("top_p") == "top-p 0.9 removed ' the'"
    assert why("no_repeat_ngram", "cat") == "no-repeat n-gram 3 removed 'cat'"
    assert why("raw") == "B's model gives ' the' probability 0"
    # A comparison made before the stage was recorded says only what infinity means.
    assert why_infinite(StepDivergence(0, 5, math.inf, 0.1, 0.2, 0.1, True, 0.5, 0.4, 1), b) == RULES_OUT


def test_every_stage_a_control_sets_is_named_as_that_control_with_its_value():
    from playground.knobs import BY_NAME
    from playground.plots.style import STAGE_LABELS, stage_setting

    settings = Settings().to_dict()
    own = {spec.name for spec in CHAIN if spec.label}  # a stage of several knobs, named by its own label alone
    assert {stage_setting(stage, settings) for stage in own} == {"presence/frequency penalty"}
    for stage in set(STAGE_LABELS) - {"raw", "final"} - own:
        named = stage_setting(stage, settings)
        label = named.rsplit(" ", 1)[0]  # the value follows the control's label
        knob = next(k for k in BY_NAME.values() if k.label.lower() == label.lower())
        assert named == f"{label} {settings[knob.name]:g}", stage
    assert stage_setting("top_k", settings) == "top-k 50"
    assert stage_setting("raw", settings) == "raw"
    # Lower case but for the acronyms: a sentence names XTC and DRY as the page does, and Top-H keeps its H.
    on = Settings(strategy="sample", xtc_probability=0.5, dry_multiplier=0.8, top_h=0.4).to_dict()
    assert [stage_setting(stage, on) for stage in ("xtc", "dry", "top_h")] == ["XTC 0.5", "DRY 0.8", "top-H 0.4"]


def test_candidates_figure_pairs_a_and_b_per_token_and_marks_the_token_a_took():
    from playground.plots import candidates_figure
    from playground.plots.style import BLUE, ORANGE
    from playground.trace import Comparison, PairedCandidate, StepDivergence

    cands = [
        PairedCandidate(4, " the", 0.2, 0.6),
        PairedCandidate(1, "a", 0.5, 0.1),
        PairedCandidate(9, "\n", 0.0, 0.0),
    ]
    old = StepDivergence(0, 9, 0.3, 0.0, 0.1, 0.2, False, 0.1, 0.05, 3)  # made before candidates were recorded
    new = StepDivergence(1, 1, 0.3, 0.0, 0.1, 0.2, False, 0.5, 0.1, 2, cands)
    comparison = Comparison("abc", "m", "bf16", {"temperature": 1.5}, [old, new], [5, 6], ["a", "b"], 0)
    fig = candidates_figure(comparison, 1, "a")
    a_bars, b_bars = fig.data
    assert (a_bars.type, a_bars.orientation, a_bars.marker.color) == ("bar", "h", BLUE)
    assert (b_bars.type, b_bars.orientation, b_bars.marker.color) == ("bar", "h", ORANGE)
    assert list(a_bars.x) == [0.2, 0.5, 0.0] and list(b_bars.x) == [0.6, 0.1, 0.0]
    assert list(a_bars.y) == list(b_bars.y) == ["1. ␣the", "<b>2. a ◂ A took</b>", "3. ⏎"]
    assert fig.layout.yaxis.autorange == "reversed"  # the first (most likely) candidate is the top row
    assert "B / A = 3×" in a_bars.customdata[0] and "B / A = ∞" not in a_bars.customdata[2]
    assert fig.layout.title.text == "Step 2: A took 'a' (p_A = 0.500, p_B = 0.100, rank under B 2)"
    blank = candidates_figure(comparison, 0, "x")
    assert not blank.data and "No candidates were recorded at step 1" in blank.layout.annotations[0].text
    with pytest.raises(IndexError):
        candidates_figure(comparison, 2, "x")


def test_the_mass_sunburst_sizes_arcs_by_joint_probability_and_greys_the_rest():
    from playground.plots.mass import OTHER, mass_figure
    from playground.trace import MassNode, MassTree, ModelInfo, PromptInfo

    eos = MassNode(2, "</s>", 0.1, 0.06, ended=True)
    a = MassNode(5, " a", 0.6, 0.6, other=0.2, children=[MassNode(7, " b", 0.5, 0.3), eos])
    c = MassNode(6, " c", 0.3, 0.3)  # a leaf at the last level: its width is its own
    root = MassNode(None, "prompt", 1.0, 1.0, other=0.1, children=[a, c])
    a.other = 0.6 - 0.3 - 0.06
    info = ModelInfo(id="m", source="local", precision="fp32", device="cpu", memory_mb=1.0, vocab_size=9)
    tree = MassTree(info, {}, PromptInfo("p", "p", [1]), 2, 0.05, root, 4, False, 2, 0.1)
    sun = mass_figure(tree).data[0]
    widths = dict(zip(sun.ids, sun.values, strict=True))
    # Expanded nodes add nothing of their own ("remainder"): their children and "other" make their width.
    assert widths == {"root": 0, "root/5": 0, "root/5/7": 0.3, "root/5/2": 0.06, "root/5/other": a.other,
                      "root/6": 0.3, "root/other": 0.1}  # fmt: skip
    colours = dict(zip(sun.ids, sun.marker.colors, strict=True))
    assert colours["root/other"] == OTHER and colours["root/5/7"] == colours["root/5"] != colours["root/6"]
    assert "(end of text)" in sun.hovertext[sun.ids.index("root/5/2")]


def test_the_samples_tree_counts_paths_and_gives_the_models_probability(tiny_loaded):
    from playground.engine import generate
    from playground.plots.samples import continuations_figure, diversity_figure, samples_tree_figure
    from playground.settings import Settings

    settings = Settings(chat=False, strategy="sample", num_samples=20, top_k=3, seed=1, max_new_tokens=4)
    trace = generate(tiny_loaded, "the cat", settings)
    samples = trace.samples.samples
    sun = samples_tree_figure(trace, depth=2).data[0]
    counts = dict(zip(sun.ids, sun.values, strict=True))
    first = samples[0].token_ids
    assert counts["root"] == 20
    assert counts[str(first[0])] == sum(s.token_ids[:1] == first[:1] for s in samples)
    if len(first) > 1:
        path = f"{first[0]}/{first[1]}"
        assert counts[path] == sum(s.token_ids[:2] == first[:2] for s in samples)
        hover = sun.hovertext[sun.ids.index(path)]
        assert f"{samples[0].probs[0] * samples[0].probs[1]:.2%}" in hover  # the model's probability of the path
        on_arc = sun.text[sun.ids.index(path)]
        assert on_arc.endswith(f"{counts[path] / 20:.0%} · p {samples[0].probs[0] * samples[0].probs[1]:.0%}")
    assert max(i.count("/") for i in sun.ids) <= 1  # two tokens deep
    ranked = continuations_figure(trace)
    distinct = {tuple(s.token_ids) for s in samples}
    assert len(ranked.data[0].x) == min(20, len(distinct)) and sum(ranked.data[0].x) <= 1.0 + 1e-9
    assert list(ranked.data[0].x) == sorted(ranked.data[0].x, reverse=True)
    diversity = diversity_figure(trace)
    assert 1 <= diversity.data[0].y[0] <= 3  # top-k 3: at most three first tokens (later, prefixes differ)
    assert list(diversity.data[1].y) == [
        sum(len(s.token_ids) > i for s in samples) for i in range(len(diversity.data[1].y))
    ]


def test_the_samples_views_of_a_run_from_a_prefix_start_after_its_forced_tokens(tiny_loaded):
    from playground.engine import generate
    from playground.plots.samples import diversity_figure, samples_tree_figure
    from playground.settings import Settings

    prefix = (10, 11, 12)
    settings = Settings(chat=False, strategy="sample", num_samples=10, top_k=3, seed=1, max_new_tokens=3,
                        prefix_ids=prefix)  # fmt: skip
    trace = generate(tiny_loaded, "the cat", settings)
    samples = [s for s in trace.samples.samples if len(s.token_ids) > len(prefix)]
    sun = samples_tree_figure(trace, depth=1).data[0]
    counts = dict(zip(sun.ids, sun.values, strict=True))
    assert sun.labels[0] == "prompt + forced tokens"
    drawn = {s.token_ids[len(prefix)] for s in samples}
    assert set(sun.ids[1:]) == {str(t) for t in drawn}  # the first ring: the first drawn token, not the forced one
    first = samples[0]
    assert counts[str(first.token_ids[3])] == sum(s.token_ids[3] == first.token_ids[3] for s in samples)
    assert f"{first.probs[3]:.2%}" in sun.hovertext[sun.ids.index(str(first.token_ids[3]))]
    assert diversity_figure(trace).data[0].x[0] == len(prefix) + 1


def test_a_step_whose_token_is_part_of_a_character_names_its_bytes(traces):
    import copy

    trace = copy.deepcopy(traces["greedy"])
    trace.steps[0].chosen.bytes = "e697"
    assert "chose '‹e6 97›' (bytes e6 97 of a split character, p = " in stage_figure(trace, 0).layout.title.text
    assert "bytes" not in stage_figure(traces["greedy"], 0).layout.title.text
    # The next token completes "日" (e6 97 a5); another candidate would have completed "旧" (e6 97 a7).
    second = trace.steps[1]
    second.chosen.bytes = "a5"
    other = next(c for c in second.candidates if c.id != second.chosen.id)
    other.bytes = "a7"
    figure = stage_figure(trace, 1)
    assert "chose '日' (bytes a5 of a split character" in figure.layout.title.text
    rank = second.candidates.index(other)
    assert figure.data[0].x[rank] == f"{rank + 1}. 旧"


def test_a_chosen_token_from_below_the_candidates_is_labelled_with_its_own_rank(traces):
    import copy

    trace = copy.deepcopy(traces["greedy"])
    step = trace.steps[0]
    step.chosen.id, step.chosen.rank = step.candidates[-1].id, 812  # sampled from far down, put in the last place
    labels = list(stage_figure(trace, 0).data[0].x)
    assert labels[-1].startswith("812. ") and labels[-2].startswith(f"{len(labels) - 1}. ")
    step.chosen.rank = None  # a trace written before ranks were kept: places as before
    assert list(stage_figure(trace, 0).data[0].x)[-1].startswith(f"{len(labels)}. ")


def test_the_step_title_counts_the_tokens_the_filters_left(traces):
    sampled = traces["sample"]  # top-k 8, top-p 0.8
    step = sampled.steps[0]
    assert 1 <= step.kept <= 8 and f", {step.kept} token" in stage_figure(sampled, 0).layout.title.text
    assert " left)" not in stage_figure(traces["greedy"], 0).layout.title.text  # no filter: nothing to count


def test_round_and_count_axes_tick_whole_numbers_only(traces):
    from playground.plots.speculative import whole_step

    assert [whole_step(n) for n in (1, 10, 11, 21, 51, 101, 1000)] == [1, 1, 2, 5, 10, 20, 100]
    layout = acceptance_figure(traces["speculative"]).layout
    rounds = len(traces["speculative"].speculative.rounds)
    for axis in (layout.xaxis, layout.xaxis2):
        assert axis.dtick == whole_step(rounds) and list(axis.range) == [0.5, rounds + 0.5]
    assert isinstance(layout.yaxis3.dtick, int) and layout.xaxis3.dtick == 1
