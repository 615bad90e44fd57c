"""`python -m playground generate`: text or JSON traces, and bad values named by their flag with exit code 2."""

import json
import subprocess
import sys

import pytest

from playground.cli import main
from playground.trace import SCHEMA, Trace


def run(tiny_dir, *flags):
    return main(["generate", "--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat sat", *flags])


def test_text_and_summary(tiny_dir, capsys):
    assert run(tiny_dir, "--raw", "--max-new-tokens", "6", "--min-new-tokens", "6") == 0
    out = capsys.readouterr().out
    assert " · 6 tokens · " in out and "stopped: max new tokens reached" in out and "tokens/s" in out


def test_json_is_one_trace_with_the_flags_applied(tiny_dir, capsys):
    flags = [
        "--strategy",
        "sample",
        "--temperature",
        "0.7",
        "--top-k",
        "5",
        "--top-p",
        "0.9",
        "--seed",
        "4",
        "--max-new-tokens",
        "5",
        "--top-n",
        "7",
        "--json",
        "--raw",
    ]
    assert run(tiny_dir, *flags) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    trace = Trace.from_json(lines[0])
    assert trace.schema == SCHEMA and trace.prompt.rendered == "the cat sat"
    assert {k: trace.settings[k] for k in ("strategy", "temperature", "top_k", "top_p", "seed", "top_n")} == {
        "strategy": "sample",
        "temperature": 0.7,
        "top_k": 5,
        "top_p": 0.9,
        "seed": 4,
        "top_n": 7,
    }
    assert all(len(step.candidates) == 7 for step in trace.steps)


def test_runs_use_consecutive_seeds_one_json_per_line(tiny_dir, capsys):
    assert run(tiny_dir, "--strategy", "sample", "--seed", "10", "--runs", "3", "--json", "--max-new-tokens", "8") == 0
    traces = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [t["settings"]["seed"] for t in traces] == [10, 11, 12]
    # The same seed in a later process gives the same tokens: runs do not share random state.
    assert run(tiny_dir, "--strategy", "sample", "--seed", "11", "--json", "--max-new-tokens", "8") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["output"]["token_ids"] == traces[1]["output"]["token_ids"]


def test_beam_prints_every_returned_sequence(tiny_dir, capsys):
    assert (
        run(
            tiny_dir,
            "--strategy",
            "beam",
            "--num-beams",
            "3",
            "--num-return-sequences",
            "2",
            "--early-stopping",
            "never",
            "--max-new-tokens",
            "5",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "--- beam 1" in out and "--- beam 2" in out and "--- beam 3" not in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--strategy", "sample", "--temperature", "-1"],
            "argument --temperature: temperature must be > 0 for sampling, got -1",
        ),
        (["--strategy", "sample", "--top-p", "1.5"], "argument --top-p: top_p must be <= 1, got 1.5"),
        (["--max-new-tokens", "0"], "argument --max-new-tokens: max_new_tokens must be >= 1, got 0"),
        (["--strategy", "beam", "--num-beams", "99"], "argument --num-beams: num_beams must be <= 8"),
        (["--early-stopping", "maybe"], "argument --early-stopping: must be true, false or never, got 'maybe'"),
        (["--top-k", "many"], "argument --top-k: must be a whole number, got 'many'"),
        (["--max-new-tokens", "8.5"], "argument --max-new-tokens: must be a whole number, got '8.5'"),
        (["--strategy", "nucleus"], "argument --strategy: invalid choice: 'nucleus'"),
        (["--runs", "0"], "argument --runs: must be >= 1, got 0"),
        (["--stop", ""], "argument --stop: stop strings must be non-empty"),
        (["--strategy", "sample", "--temperature", "nan"], "argument --temperature: temperature must be a number"),
        (["--strategy", "sample", "--temperature", "inf"], "temperature must be a finite number, got inf"),
        (["--strategy", "sample", "--top-k", str(10**30)], "argument --top-k: top_k must be <= 1000000"),
        (["--stop", "end\x1b"], "argument --stop: stop holds the control character U+001B at character 4"),
        (["--max-new-tokens", "600"], "argument --max-new-tokens: the prompt (31 tokens) plus max_new_tokens (600)"),
        (["--strategy", "speculative", "--draft-model", "/no/such/dir"], "argument --draft-model: draft_model"),
    ],
)
def test_bad_values_exit_2_naming_the_flag(tiny_dir, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        run(tiny_dir, *flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_empty_prompt_exits_2_naming_the_flag(tiny_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", tiny_dir, "--precision", "fp32", "--prompt", "  "])
    assert exit_info.value.code == 2
    assert "argument --prompt: prompt must not be empty" in capsys.readouterr().err


def test_a_prompt_that_is_not_text_exits_2(tiny_dir, capsys, tmp_path):
    # A terminal that passes bytes which are not UTF-8 gives Python lone surrogates (surrogateescape).
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", tiny_dir, "--precision", "fp32", "--prompt", "caf\udce9"])
    assert exit_info.value.code == 2
    assert "argument --prompt: prompt holds a lone surrogate (U+DCE9) at character 4" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", tiny_dir, "--prompt-file", str(latin1)])
    assert exit_info.value.code == 2
    assert f"argument --prompt-file: {latin1} is not UTF-8 text (byte 3)" in capsys.readouterr().err


def test_missing_prompt_file_exits_2(tiny_dir, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", tiny_dir, "--prompt-file", str(tmp_path / "nope.txt")])
    assert exit_info.value.code == 2
    assert "argument --prompt-file: cannot read" in capsys.readouterr().err


def test_prompt_file_is_read(tiny_dir, capsys, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("once upon a time", encoding="utf-8")
    assert (
        main(
            [
                "generate",
                "--model",
                tiny_dir,
                "--precision",
                "fp32",
                "--prompt-file",
                str(prompt),
                "--raw",
                "--json",
                "--max-new-tokens",
                "2",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["prompt"]["text"] == "once upon a time"


def test_missing_model_exits_1_with_one_sentence(capsys):
    assert main(["generate", "--model", "./no/such/model", "--prompt", "hi"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: No model directory at ./no/such/model: give a directory holding config.json, or a model id."


@pytest.mark.integration
def test_bundled_model_from_a_terminal():
    """The command a user types, in a fresh process, on the embedded model."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "generate",
            "--precision",
            "fp32",
            "--prompt",
            "What is 2+2?",
            "--max-new-tokens",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[SmolLM2-135M-Instruct fp32 on cpu · 8 tokens · " in result.stdout


def test_constrained_flags_reach_the_trace(tiny_dir, capsys):
    flags = [
        "--strategy",
        "constrained",
        "--force-words",
        "dog",
        "--force-one-of",
        "red|blue",
        "--num-beams",
        "3",
        "--max-new-tokens",
        "20",
        "--json",
        "--raw",
    ]
    assert run(tiny_dir, *flags) == 0
    trace = json.loads(capsys.readouterr().out)
    assert [c["words"] for c in trace["beams"]["constraints"]] == [["dog"], ["red", "blue"]]
    assert all(seq["satisfies_constraints"] for seq in trace["beams"]["sequences"])


def test_constrained_without_constraints_exits_2(tiny_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(tiny_dir, "--strategy", "constrained")
    assert exit_info.value.code == 2
    assert "argument --force-words: force_words or force_one_of must hold at least one" in capsys.readouterr().err


def test_speculative_flags_reach_the_trace(tiny_dir, capsys):
    flags = [
        "--strategy",
        "speculative",
        "--draft-model",
        "prompt-lookup",
        "--num-draft-tokens",
        "3",
        "--prompt-lookup-ngram",
        "2",
        "--max-new-tokens",
        "12",
        "--json",
        "--raw",
    ]
    assert run(tiny_dir, *flags) == 0
    trace = json.loads(capsys.readouterr().out)
    spec = trace["speculative"]
    assert spec["draft"] == {"source": "prompt-lookup", "ngram": 2} and spec["num_draft_tokens"] == 3
    assert all(r["num_draft_tokens"] <= 3 for r in spec["rounds"])


def test_speculative_runs_use_consecutive_seeds(tiny_dir, capsys):
    flags = [
        "--strategy",
        "speculative",
        "--do-sample",
        "--draft-precision",
        "fp32",
        "--seed",
        "3",
        "--runs",
        "2",
        "--max-new-tokens",
        "6",
        "--json",
    ]
    assert run(tiny_dir, *flags) == 0
    traces = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [t["settings"]["seed"] for t in traces] == [3, 4]
    assert all(t["settings"]["do_sample"] for t in traces)


def test_bad_draft_tokens_exit_2_naming_the_flag(tiny_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(tiny_dir, "--strategy", "speculative", "--num-draft-tokens", "0")
    assert exit_info.value.code == 2
    assert "argument --num-draft-tokens: num_draft_tokens must be >= 1, got 0" in capsys.readouterr().err


def test_whole_numbers_for_float_flags_and_whole_floats_for_int_flags(tiny_dir, capsys):
    assert run(tiny_dir, "--raw", "--max-new-tokens", "2.0", "--repetition-penalty", "2", "--json") == 0
    settings = Trace.from_json(capsys.readouterr().out).settings
    assert settings["repetition_penalty"] == 2.0 and settings["max_new_tokens"] == 2


def test_a_bad_prompt_is_named_before_the_model_loads(monkeypatch, capsys):
    def load_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a prompt that could not run")

    monkeypatch.setattr("playground.models.load_model", load_model)
    for command in (["generate"], ["mass"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--prompt", "a\x01b"])
        assert exit_info.value.code == 2
        assert "argument --prompt: prompt holds the control character U+0001 at character 2" in capsys.readouterr().err


def test_continue_from_a_trace_branches_it_at_a_step(tiny_dir, tmp_path, capsys):
    assert run(tiny_dir, "--raw", "--max-new-tokens", "8", "--min-new-tokens", "8", "--json") == 0
    parent = Trace.from_json(capsys.readouterr().out.strip())
    saved = tmp_path / "parent.json"
    saved.write_text(parent.to_json(), encoding="utf-8")
    other = next(c for c in parent.steps[3].candidates if c.id != parent.steps[3].chosen.id)
    flags = ["--continue-from", str(saved), "--at", "4", "--token", str(other.id), "--max-new-tokens", "3"]
    # No --prompt: the trace's prompt, settings (raw, min_new_tokens 8 lowered to 3 by the flag) and model.
    assert (
        main(["generate", "--model", tiny_dir, "--precision", "fp32", *flags, "--min-new-tokens", "3", "--json"]) == 0
    )
    child = Trace.from_json(capsys.readouterr().out.strip())
    assert child.prompt.rendered == "the cat sat" and child.settings["chat"] is False
    assert child.output.token_ids[:4] == [*parent.output.token_ids[:3], other.id]
    assert len(child.output.token_ids) == 7 and child.branch.parent == parent.run_id and child.branch.at == 4
    # The token as text: it must be one token.
    text = other.text
    assert main(["generate", "--model", tiny_dir, "--precision", "fp32", *flags[:4], "--token", text, "--json"]) == 0
    assert Trace.from_json(capsys.readouterr().out.strip()).branch.token.id == other.id


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--at", "2"], "--at and --token branch a trace: give it with --continue-from TRACE.json"),
        (["--continue-from", "{parent}", "--at", "2"], "--continue-from needs --at STEP and --token ID_OR_TEXT"),
        (
            ["--continue-from", "{parent}", "--at", "99", "--token", "5"],
            "argument --at: the step to branch at must be 1 to",
        ),
        (["--continue-from", "{parent}", "--at", "2", "--token", "the cat"], "argument --token: 'the cat' is 7 tokens"),
        (["--continue-from", "{missing}", "--at", "2", "--token", "5"], "argument --continue-from: cannot read"),
        (["--continue-from", "{garbage}", "--at", "2", "--token", "5"], "is not a trace"),
        (["--prefix-ids", "1,x"], "argument --prefix-ids: must be token ids separated by commas"),
    ],
)
def test_bad_branches_are_named_by_their_flag(tiny_dir, tmp_path, capsys, flags, message):
    assert run(tiny_dir, "--raw", "--max-new-tokens", "3", "--json") == 0
    (tmp_path / "parent.json").write_text(capsys.readouterr().out.strip(), encoding="utf-8")
    (tmp_path / "garbage.json").write_text('{"schema": 3}', encoding="utf-8")
    paths = {name: str(tmp_path / f"{name}.json") for name in ("parent", "missing", "garbage")}
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "--model", tiny_dir, "--precision", "fp32", *[f.format(**paths) for f in flags]])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def mass(tiny_dir, *flags):
    return main(["mass", "--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat sat", "--raw", *flags])


def test_mass_prints_the_tree_with_other_and_its_json_is_the_engines(tiny_dir, capsys):
    from playground.engine.mass import mass_tree
    from playground.models import load_model
    from playground.settings import Settings

    assert mass(tiny_dir, "--depth", "2", "--threshold", "0.02", "--temperature", "0.5", "--strategy", "sample") == 0
    text = capsys.readouterr().out.splitlines()
    assert "(other: below 0.02)" in text[-2] and text[-1].startswith("[") and "up to 2 tokens at p ≥ 0.02" in text[-1]
    assert mass(tiny_dir, "--mass-depth", "2", "--threshold", "0.02", "--temperature", "0.5", "--strategy",
                "sample", "--json") == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    settings = Settings(chat=False, strategy="sample", temperature=0.5, mass_depth=2, mass_threshold=0.02)
    tree = mass_tree(load_model(tiny_dir, "fp32"), "the cat sat", settings)
    assert data["root"] == json.loads(tree.to_json())["root"] and data["depth"] == 2
    first = data["root"]["children"][0]
    assert {"token_id", "text", "prob", "joint", "other", "ended", "children"} <= set(first)
    assert sum(c["joint"] for c in data["root"]["children"]) + data["root"]["other"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--depth", "5"], "argument --depth: mass_depth must be"),
        (["--threshold", "0"], "argument --threshold: mass_threshold must be"),
        (["--top-p", "0"], "argument --top-p"),
    ],
)
def test_mass_names_bad_values_by_their_flag(tiny_dir, capsys, flags, message):
    with pytest.raises(SystemExit) as exc:
        mass(tiny_dir, "--strategy", "sample", *flags)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_num_samples_prints_every_sample_and_the_batch_summary(tiny_dir, capsys):
    assert run(tiny_dir, "--raw", "--strategy", "sample", "--num-samples", "5", "--seed", "3", "--max-new-tokens",
               "6") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("--- sample")] == [
        f"--- sample {i + 1} (seed {3 + i})" for i in range(5)
    ]
    assert "5 samples, " in out and " distinct (sampled at temperature 1, top-k 50, top-p 1) · " in out
    assert "forward passes" in out
    assert run(tiny_dir, "--raw", "--strategy", "sample", "--num-samples", "5", "--seed", "3", "--max-new-tokens",
               "6", "--json") == 0  # fmt: skip
    trace = Trace.from_json(capsys.readouterr().out)
    trace.validate()
    assert [s.seed for s in trace.samples.samples] == [3, 4, 5, 6, 7]
