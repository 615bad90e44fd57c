"""`generate --strategy speculative`: the automatic draft unless --draft-model names another, and
`--draft-model ''` the target's own weights."""

from playground.cli import main
from playground.settings import AUTO
from playground.trace import DRAFT_SOURCES, Trace
from tests.helpers import cli_common


def speculative_trace(model_dir: str, capsys, flags: list[str]) -> Trace:
    """A greedy speculative run of six tokens on `model_dir` with `flags`, read back from its --json output."""
    assert main([*cli_common(model_dir), "--strategy", "speculative", "--max-new-tokens", "6", "--json", *flags]) == 0
    return Trace.from_json(capsys.readouterr().out.strip())


def test_speculative_decoding_drafts_automatically_by_default(tiny_dir, capsys):
    trace = speculative_trace(tiny_dir, capsys, [])
    spec = trace.speculative
    assert trace.settings["draft_model"] == AUTO and spec.draft.source == AUTO
    assert spec.cost_curve and spec.cost_curve[0] == 1.0  # c(1): one new token costs one step
    assert spec.rounds and all(r.source in DRAFT_SOURCES and r.cost is not None for r in spec.rounds)


def test_an_empty_draft_model_drafts_with_the_targets_own_weights(tiny_dir, capsys):
    trace = speculative_trace(tiny_dir, capsys, ["--draft-model", ""])
    spec = trace.speculative
    assert trace.settings["draft_model"] is None
    assert spec.draft.source == "model" and spec.draft.id == trace.model.id
    assert all(r.source is None for r in spec.rounds) and not spec.cost_curve
