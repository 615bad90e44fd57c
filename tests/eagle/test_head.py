"""The EAGLE head on a tiny random model: its chain mask, the drafter's chain equal to the chains drafted at every
position at once (two ways of drafting, one over a KV cache, one recomputed), its restricted vocabulary, and its
file round-trip."""

import torch

from playground.eagle.chains import chain_mask, draft_chains
from playground.eagle.drafter import EagleDrafter
from playground.eagle.head import EagleCard, EagleHead, target_classes


def random_head(model, vocab_ids=None, seed=0) -> EagleHead:
    """An untrained head with weights spread enough that its chains differ from position to position."""
    torch.manual_seed(seed)
    head = EagleHead(model.config, *target_classes(model), vocab_ids)
    with torch.no_grad():
        for parameter in head.parameters():
            if parameter.dim() > 1:
                parameter.normal_(std=0.3)
    return head.eval()


def text_features(model, length=12, seed=1) -> tuple[torch.Tensor, torch.Tensor]:
    """A random text's token ids (L,) and the target's features along it (L, d), after its final norm."""
    torch.manual_seed(seed)
    tokens = torch.randint(4, model.config.vocab_size, (length,))
    with torch.no_grad():
        features = model.base_model(input_ids=tokens[None]).last_hidden_state[0]
    return tokens, features


def test_a_chain_row_sees_the_text_up_to_its_start_and_its_own_drafts():
    mask = chain_mask(3, 2)  # rows: text 0, 1, 2, then chain depth 1 after pairs 0, 1, 2
    assert mask[:3, :3].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert not mask[:3, 3:].any()  # the text never sees a draft
    assert mask[4].tolist() == [True, True, False, False, True, False]  # chain after pair 1: text 0-1, itself


def test_the_drafter_drafts_at_every_position_what_the_chains_draft_at_once(tiny_loaded):
    model = tiny_loaded.model
    head = random_head(model)
    tokens, features = text_features(model)
    embed = model.get_input_embeddings()
    projection = head.projection(model.lm_head.weight)
    chains = draft_chains(head, features, tokens, embed, projection, depth=3)  # (L - 1, 3)
    assert chains.shape == (11, 3) and len({tuple(row) for row in chains.tolist()}) > 1
    for start in (0, 4, 10):
        drafter = EagleDrafter(head, embed, projection)
        drafted, q = drafter.propose(features[: start + 1], tokens[1 : start + 2], budget=3)
        assert drafted.tolist() == chains[start].tolist()
        assert ((q > 0) & (q <= 1)).all()


def test_a_drafter_drops_its_drafts_and_keeps_what_the_target_confirmed(tiny_loaded):
    model = tiny_loaded.model
    head = random_head(model)
    tokens, features = text_features(model)
    embed = model.get_input_embeddings()
    projection = head.projection(model.lm_head.weight)
    chains = draft_chains(head, features, tokens, embed, projection, depth=2)
    drafter = EagleDrafter(head, embed, projection)
    drafter.propose(features[:3], tokens[1:4], budget=4)  # drafts 3 more pairs into its cache
    drafted, _ = drafter.propose(features[3:7], tokens[4:8], budget=2)  # four pairs confirmed since
    assert drafted.tolist() == chains[6].tolist()
    assert drafter.cache.length == 7 + 1  # the confirmed pairs and the last chain's first draft


def test_a_restricted_head_drafts_only_its_tokens(tiny_loaded):
    model = tiny_loaded.model
    vocab_ids = torch.tensor([9, 30, 31, 55, 70])
    head = random_head(model, vocab_ids)
    tokens, features = text_features(model)
    chains = draft_chains(
        head, features, tokens, model.get_input_embeddings(), head.projection(model.lm_head.weight), 2
    )
    assert set(chains.flatten().tolist()) <= set(vocab_ids.tolist())


def test_a_head_file_round_trips_with_its_card(tmp_path, tiny_loaded):
    model = tiny_loaded.model
    head = random_head(model, torch.tensor([5, 1, 9]))
    card = EagleCard("tiny", 32, model.config.vocab_size, 3, head.layer_name, {"steps": 7}, {"chain": [0.5, 0.2]})
    head.save(tmp_path / "eagle.safetensors", card)
    loaded, same = EagleHead.load(tmp_path / "eagle.safetensors", model.config, *target_classes(model))
    assert same == card and same.layer == "LlamaDecoderLayer" and loaded.vocab_ids.tolist() == [5, 1, 9]
    tokens, features = text_features(model)
    embed = model.get_input_embeddings()
    # Stored in bfloat16: the same predictions up to bfloat16's rounding of the weights.
    with torch.no_grad():
        before = head(features[None], embed(tokens)[None], torch.arange(12)[None])
        after = loaded(features[None], embed(tokens)[None], torch.arange(12)[None])
    assert float((before - after).norm() / before.norm()) < 0.02 and loaded.fc.weight.dtype == torch.float32
