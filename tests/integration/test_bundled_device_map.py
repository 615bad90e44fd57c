"""The embedded model dispatched by accelerate with part of it on disk decodes as on one device: it loads from its
converted float32 checkpoint like any model, its LM head shares the embeddings' weight, and its shipped Medusa
heads read that weight through the offload hook."""

import pytest

from playground.engine import generate
from playground.engine.speculative import load_draft
from playground.models import load_model
from playground.settings import Settings

pytestmark = pytest.mark.integration

PROMPT = "Give me three tips for learning to play the guitar."


@pytest.fixture(scope="module")
def offloaded():
    """The embedded model at fp32 (513 MB) with 300 MB for the CPU: the later layers wait on disk."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLAYGROUND_MAX_MEMORY", "cpu=300MB")
        return load_model(precision="fp32", device_map="auto")


@pytest.mark.parametrize(
    "knobs",
    [dict(strategy="greedy"), dict(strategy="speculative", draft_model="medusa", tree_size=8)],
    ids=["greedy", "medusa"],
)
def test_the_offloaded_embedded_model_decodes_as_on_one_device(offloaded, bundled_fp32, knobs):
    assert offloaded.info.device == "cpu+disk"
    settings = Settings(max_new_tokens=8, **knobs)
    expected = generate(bundled_fp32, PROMPT, settings, draft=load_draft(settings, bundled_fp32))
    trace = generate(offloaded, PROMPT, settings, draft=load_draft(settings, offloaded))
    assert trace.output.token_ids == expected.output.token_ids
    assert [s.chosen.prob for s in trace.steps] == [s.chosen.prob for s in expected.steps]
