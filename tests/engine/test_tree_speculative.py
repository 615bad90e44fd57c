"""Speculative decoding with Medusa heads on tiny models: greedy output equals plain greedy, sampling is
distributed as the target's own, the cache keeps exactly the accepted path, and the trace records every tree.

The heads are trained here for a few seconds on the tiny target's own text (as `python -m playground.training.medusa`
does), so some rounds accept deep paths and others reject everything."""

import pytest
import torch

from playground.engine.context import render_prompt
from playground.engine.forward import forward_tokens, forward_tree, keep_path, new_cache
from playground.engine.speculative.draft_tree import build_tree
from playground.medusa.draft import HeadsDraft, fits, load_heads
from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.models import load_model
from playground.settings import Settings, SettingsError
from playground.trace import Trace
from playground.training.medusa import accuracy, features, self_distill, to_columns, train_heads
from tests.helpers import run as generate_with_loaded_draft
from tests.tiny import save_tiny_model

PROMPT = "the cat sat on the mat and the cat"
TEMPERATURE = 0.3  # peaked enough for the heads' guesses to be accepted often, not always
TRAIN_PROMPTS = [f"the {w} sat on the {v}" for w in ("cat", "dog", "hat", "cow", "pig", "hen") for v in ("mat", "rug")]


def train_tiny_heads(loaded, num_heads: int = 3, epochs: int = 60, seed: int = 0) -> HeadsDraft:
    """Heads for a tiny model, trained on its own greedy continuations of a few prompts."""
    torch.manual_seed(seed)
    sequences = self_distill(loaded, TRAIN_PROMPTS, max_new_tokens=24, batch=12)
    hidden, targets = features(loaded, sequences, num_heads)
    heads = MedusaHeads(num_heads, hidden.shape[-1])
    projection = heads.projection(loaded.model.lm_head.weight.detach().float())
    train_heads(heads, hidden, to_columns(targets, heads, loaded.info.vocab_size), projection, epochs, lr=3e-3)
    scores = accuracy(heads, hidden, targets, projection)
    config = loaded.model.config
    card = HeadsCard("tiny", num_heads, config.hidden_size, config.vocab_size, config.vocab_size, accuracy=scores)
    return HeadsDraft(heads.eval(), card, "tiny-heads.safetensors")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_tokenizer):
    """A sharpened tiny target (peaked enough for its text to be guessable), heads trained on it, and heads that
    were never trained (which guess badly: many rejections)."""
    base = tmp_path_factory.mktemp("medusa")
    target_dir = save_tiny_model(base / "target", tiny_tokenizer, seed=2, eos_boost=1.0, sharpen=8.0)
    eager_dir = save_tiny_model(base / "eager", tiny_tokenizer, seed=1, eos_boost=12.0)
    target = load_model(target_dir, "fp32")
    trained = train_tiny_heads(target)
    config = target.model.config
    untrained = HeadsDraft(
        MedusaHeads(4, config.hidden_size).eval(),
        HeadsCard("tiny", 4, config.hidden_size, config.vocab_size, config.vocab_size,
                  accuracy={"by_rank": [[0.5 / (r + 1) for r in range(10)] for _ in range(4)]}),
        "untrained.safetensors",
    )  # fmt: skip
    return {"target": target, "eager": load_model(eager_dir, "fp32"), "trained": trained, "untrained": untrained}


def medusa(**knobs) -> Settings:
    return Settings(**{"strategy": "speculative", "draft_model": "medusa", "chat": True, "max_new_tokens": 40, **knobs})


def run(loaded, settings: Settings, heads: HeadsDraft) -> Trace:
    from playground.engine import generate

    return generate(loaded, PROMPT, settings, draft=heads)


@pytest.mark.parametrize(
    "knobs",
    [
        dict(),
        dict(tree_size=1),
        dict(tree_size=63),
        dict(tree_size=12, repetition_penalty=1.3, no_repeat_ngram_size=3),
        dict(tree_size=5, min_new_tokens=30),
    ],
    ids=str,
)
@pytest.mark.parametrize("heads", ["trained", "untrained"])
def test_greedy_output_equals_plain_greedy(tiny, knobs, heads):
    target = tiny["target"]
    plain_knobs = {k: v for k, v in knobs.items() if k != "tree_size"}
    plain = generate_with_loaded_draft(target, PROMPT, Settings(chat=True, max_new_tokens=40, **plain_knobs))
    trace = run(target, medusa(**knobs), tiny[heads])
    assert trace.output.token_ids == plain.output.token_ids
    assert trace.output.stop_reason == plain.output.stop_reason
    assert [s.chosen.id for s in trace.steps] == trace.output.token_ids
    for step, plain_step in zip(trace.steps, plain.steps, strict=True):  # the same distributions, recorded alike
        assert step.chosen.prob == pytest.approx(plain_step.chosen.prob, abs=1e-5)
    spec = trace.speculative
    assert sum(r.tokens for r in spec.rounds) == len(trace.output.token_ids)
    assert spec.target_calls == len(spec.rounds) and spec.draft.source == "medusa"
    for r in spec.rounds:
        accepted = [n for n in r.tree if n.accepted]
        assert [n.depth for n in accepted] == list(range(len(accepted)))  # a path from the root
        assert all(r.tree[n.parent].accepted for n in accepted[1:])
        # A round emits its accepted guesses, then the target's own token (fewer if the run ended inside it).
        emitted = [n.id for n in accepted[1:]] + [r.emitted.id]
        assert trace.output.token_ids[r.start : r.start + r.tokens] == emitted[: r.tokens]
    if heads == "trained" and knobs.get("tree_size", 8) > 1 and not plain_knobs:  # the text they were trained on
        deepest = max(max(n.depth for n in r.tree if n.accepted) for r in spec.rounds)
        assert deepest >= 2, "trained heads should get a path of two guesses accepted at least once"
        assert spec.tokens_per_round > 1.3


def test_the_first_round_reads_the_prompt_and_later_rounds_verify_the_whole_tree(tiny):
    trace = run(tiny["target"], medusa(tree_size=6, max_new_tokens=20), tiny["trained"])
    rounds = trace.speculative.rounds
    assert len(rounds[0].tree) == 1 and rounds[0].tokens == 1  # no guesses yet: the target's own token
    assert all(len(r.tree) == 7 for r in rounds[1:-1])
    depths = trace.speculative.acceptance_by_depth
    assert len(depths) == max(n.depth for r in rounds for n in r.tree) and all(0 <= d <= 1 for d in depths)
    assert depths == sorted(depths, reverse=True)  # a node is accepted only after its parent
    node = rounds[1].tree[1]
    assert node.depth == 1 and node.rank == 0 and 0 < node.q <= 1 and 0 <= node.p <= 1


def test_eos_inside_an_accepted_path_ends_there(tiny, tiny_tokenizer):
    eager = tiny["eager"]
    heads = train_tiny_heads(eager, epochs=30)
    plain = generate_with_loaded_draft(eager, PROMPT, Settings(chat=True, max_new_tokens=40))
    trace = run(eager, medusa(tree_size=10), heads)
    assert plain.output.stop_reason == trace.output.stop_reason == "eos"
    assert trace.output.token_ids == plain.output.token_ids


@pytest.mark.parametrize("max_new_tokens", [1, 2, 3, 5, 9])
def test_max_new_tokens_reached_mid_round_is_exact(tiny, max_new_tokens):
    knobs = dict(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens)
    plain = generate_with_loaded_draft(tiny["target"], PROMPT, Settings(chat=True, **knobs))
    trace = run(tiny["target"], medusa(tree_size=20, **knobs), tiny["trained"])
    assert trace.output.token_ids == plain.output.token_ids and len(trace.output.token_ids) == max_new_tokens
    # The tree is cut to the tokens left: a round never verifies guesses it could not emit.
    for r in trace.speculative.rounds:
        assert max(n.depth for n in r.tree) <= max_new_tokens - r.start - 1


def test_keeping_a_path_leaves_the_cache_as_if_it_had_been_fed_token_by_token(tiny):
    model = tiny["target"].model
    text = [5, 6, 7, 8]
    tree = build_tree([(0,), (1,), (0, 0), (1, 0), (0, 0, 0)])  # nodes: root, 1, 2, (0,0)=3, (1,0)=4, 5
    tokens = torch.tensor([8, 20, 21, 30, 31, 40])
    cache = new_cache(model)
    forward_tokens(model, text[:-1], cache)
    hidden = forward_tree(model, tokens, tree.mask(), torch.tensor(tree.depths), cache)
    # Each node's hidden state equals the plain pass over the text and its path.
    path = [8, 21, 31]  # root, node 2, node 4
    plain_cache = new_cache(model)
    plain_hidden = model.base_model(input_ids=torch.tensor([text[:-1] + path]), cache=plain_cache).last_hidden_state
    torch.testing.assert_close(hidden[[0, 2, 4]], plain_hidden[0, -3:], rtol=1e-5, atol=1e-5)
    keep_path(cache, len(text) - 1, [0, 2, 4])
    assert cache.get_seq_length() == len(text) - 1 + 3
    after = forward_tokens(model, [50, 51], cache)
    fresh = forward_tokens(model, text[:-1] + path + [50, 51], new_cache(model))[-2:]
    torch.testing.assert_close(after, fresh, rtol=1e-5, atol=1e-5)


def test_seeded_sampling_is_reproducible_and_records_lossless_kinds(tiny):
    knobs = dict(do_sample=True, seed=4, temperature=0.9, tree_size=10)
    first = run(tiny["target"], medusa(**knobs), tiny["trained"])
    assert run(tiny["target"], medusa(**knobs), tiny["trained"]).output.token_ids == first.output.token_ids
    assert {r.emitted.kind for r in first.speculative.rounds} <= {"bonus", "resampled"}
    assert (
        run(tiny["target"], medusa(**{**knobs, "seed": 5}), tiny["trained"]).output.token_ids != first.output.token_ids
    )


def test_sampled_pairs_follow_the_targets_distribution(tiny):
    """The first two tokens of many seeded runs (the second comes out of a verified tree: an accepted guess,
    or drawn from the residual after the guesses were turned down) are distributed as the target's own
    p(x1) p(x2 | x1) (chi-square, rare pairs pooled)."""
    from tests.chi_square import critical

    target, heads = tiny["target"], tiny["trained"]
    runs = 1500
    counts: dict[tuple[int, int], int] = {}
    accepted_second = 0
    for seed in range(runs):
        # Three tokens, so that the second round's tree is one guess deep; EOS is held off for two tokens.
        settings = medusa(
            do_sample=True, seed=seed, top_k=0, temperature=TEMPERATURE, max_new_tokens=3, min_new_tokens=2, tree_size=8
        )
        trace = run(target, settings, heads)
        pair = tuple(trace.output.token_ids[:2])
        counts[pair] = counts.get(pair, 0) + 1
        accepted_second += any(n.accepted for n in trace.speculative.rounds[1].tree[1:])
    assert runs * 0.1 < accepted_second < runs * 0.95, "some second tokens should be accepted guesses, some not"
    ids = render_prompt(target.tokenizer, PROMPT, True)[1]
    model, vocab, eos = target.model, target.info.vocab_size, target.tokenizer.eos_token_id
    logits = forward_tokens(model, ids, new_cache(model))[-1]
    logits = logits / TEMPERATURE
    logits[eos] = -float("inf")  # min_new_tokens
    first = torch.softmax(logits, dim=-1)  # (V,)
    # p(x2 | x1) for every x1 at once: one batch of V rows, each the prompt then x1.
    rows = torch.tensor([[*ids, x] for x in range(vocab)])
    with torch.no_grad():
        logits = model(input_ids=rows).logits[:, -1].float() / TEMPERATURE  # (V, V)
    logits[:, eos] = -float("inf")
    second = torch.softmax(logits, dim=-1)
    joint = (first[:, None] * second).flatten() * runs
    observed = torch.zeros(vocab * vocab)
    for (a, b), n in counts.items():
        observed[a * vocab + b] = n
    common = joint >= 5
    obs = torch.cat([observed[common], observed[~common].sum(dim=0, keepdim=True)])
    want = torch.cat([joint[common], joint[~common].sum(dim=0, keepdim=True)])
    stat = float(((obs - want) ** 2 / want).sum())
    assert stat < critical(len(obs) - 1)


def test_heads_ship_for_the_embedded_default_only(tiny):
    with pytest.raises(SettingsError, match="Medusa heads ship only for SmolLM2-135M-Instruct, not for") as caught:
        load_heads(tiny["target"])
    assert caught.value.field == "draft_model"
    with pytest.raises(SettingsError, match="Medusa heads ship only for"):
        generate_with_loaded_draft(tiny["target"], PROMPT, medusa())
    wrong = HeadsDraft(MedusaHeads(2, 16), HeadsCard("other", 2, 16, 50, 50), "other.safetensors")
    with pytest.raises(SettingsError, match="trained for hidden size 16 and 50 tokens"):
        fits(wrong, tiny["target"])


def test_a_medusa_trace_round_trips_with_its_trees(tiny):
    trace = run(tiny["target"], medusa(tree_size=6, max_new_tokens=12), tiny["trained"])
    data = trace.to_dict()
    assert data["speculative"]["draft"] == {"source": "medusa", "id": "tiny-heads.safetensors", "tree_size": 6}
    again = Trace.from_dict(data)
    again.validate()
    assert again == trace
    data["speculative"]["rounds"][1]["tree"][2]["parent"] = 5
    with pytest.raises(ValueError, match=r"rounds\[1\].tree\[2\].parent must be an earlier node"):
        Trace.from_dict(data).validate()


@pytest.mark.parametrize("tree_size", [0, 64, 2.5, True])
def test_tree_size_is_checked(tree_size):
    with pytest.raises(SettingsError) as caught:
        medusa(tree_size=tree_size)
    assert caught.value.field == "tree_size"
