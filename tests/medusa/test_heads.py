"""Medusa heads: identity at the start, their file round-trips, and a few training steps on a tiny model's own
text teach head 1 the token after next (better than the untrained head, which only repeats the LM head)."""

import pytest
import torch

from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.training.medusa import (
    accuracy,
    features,
    frequent_tokens,
    main,
    self_distill,
    split_prompts,
    to_columns,
    train_heads,
)


def test_untrained_heads_are_the_lm_head_and_restricted_ones_score_their_columns():
    torch.manual_seed(0)
    weight = torch.randn(50, 8)  # (V, d)
    hidden = torch.randn(3, 8)
    full = MedusaHeads(2, 8)
    assert torch.allclose(full(hidden, full.projection(weight)), (hidden @ weight.T).expand(2, 3, 50))
    some = MedusaHeads(2, 8, torch.tensor([7, 3, 41]))
    logits = some(hidden, some.projection(weight))  # (2, 3, 3)
    assert torch.allclose(logits[1], hidden @ weight[[7, 3, 41]].T)
    assert some.token_ids(torch.tensor([2, 0])).tolist() == [41, 7]


def per_head_logits(heads: MedusaHeads, hidden: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
    """The heads' logits as they were first computed: each head's block, then its own matmul with the projection."""
    dtype = projection.dtype
    return torch.stack([block(hidden.to(block.linear.weight.dtype)).to(dtype) @ projection.T for block in heads.blocks])


# bfloat16 keeps 8 bits of mantissa: a matmul over other blocks of rows may round the last of them differently.
@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-5), (torch.bfloat16, 1e-2)])
@pytest.mark.parametrize("shape", [(8,), (3, 8), (2, 3, 8)])
def test_all_heads_in_one_projection_matmul_give_the_per_head_logits(shape, dtype, tolerance):
    torch.manual_seed(0)
    heads = MedusaHeads(3, 8, torch.tensor([7, 3, 41, 12]))
    with torch.no_grad():
        for block in heads.blocks:
            block.linear.weight.normal_()
            block.linear.bias.normal_()
    hidden, projection = torch.randn(shape), heads.projection(torch.randn(50, 8)).to(dtype)
    with torch.no_grad():
        logits = heads(hidden, projection)
        assert logits.shape == (3, *shape[:-1], 4) and logits.dtype == dtype
        assert torch.allclose(
            logits.float(), per_head_logits(heads, hidden, projection).float(), rtol=tolerance, atol=tolerance
        )


def test_the_first_heads_alone_and_a_column_major_projection_give_the_same_logits():
    torch.manual_seed(1)
    heads = MedusaHeads(3, 8, torch.tensor([7, 3, 41, 12, 0]))
    with torch.no_grad():
        for block in heads.blocks:
            block.linear.weight.normal_()
        hidden, projection = torch.randn(8), heads.projection(torch.randn(50, 8))
        every = heads(hidden, projection)  # (3, 5)
        column_major = projection.T.contiguous().T  # the same (M, d) values, stored as the planner keeps them
        assert torch.allclose(heads(hidden, column_major, 2), every[:2], atol=1e-6)
        assert heads(hidden, projection, 1).shape == (1, 5)


def test_a_heads_file_round_trips_with_its_card(tmp_path):
    heads = MedusaHeads(3, 8, torch.tensor([5, 1, 9]))
    with torch.no_grad():
        heads.blocks[2].linear.weight.normal_()
    card = HeadsCard("tiny", 3, 8, 50, 3, {"steps": 7}, {"top1": [0.5, 0.4, 0.3]}, "python -m …")
    heads.save(tmp_path / "heads.safetensors", card)
    loaded, same = MedusaHeads.load(tmp_path / "heads.safetensors")
    assert same == card and loaded.vocab_ids.tolist() == [5, 1, 9]
    hidden, weight = torch.randn(4, 8), torch.randn(50, 8)
    # Stored in bfloat16: equal to the saved heads up to bfloat16's rounding of their weights.
    stored = loaded(hidden, loaded.projection(weight))
    assert torch.allclose(stored, heads(hidden, heads.projection(weight)), rtol=2e-2, atol=5e-2)
    assert loaded.blocks[0].linear.weight.dtype == torch.float32


def test_a_few_training_steps_teach_head_one_the_token_after_next(tiny_loaded):
    prompts = [f"the {w} sat on the mat" for w in ("cat", "dog", "hat", "bat", "rat", "cow", "pig", "hen")] * 3
    train, held = split_prompts(prompts)
    sequences = self_distill(tiny_loaded, train, max_new_tokens=16, batch=8)
    assert all(len(ids) > prompt_len for ids, prompt_len in sequences)
    hidden, targets = features(tiny_loaded, sequences, num_heads=2)
    # Position t's head k target is the model's own token t + k + 2.
    ids, prompt_len = sequences[0]
    assert targets[0].tolist() == [ids[prompt_len + 1], ids[prompt_len + 2]]
    held_hidden, held_targets = features(tiny_loaded, self_distill(tiny_loaded, held, 16, 8), num_heads=2)
    heads = MedusaHeads(2, hidden.shape[-1], frequent_tokens(sequences, 30))
    projection = heads.projection(tiny_loaded.model.lm_head.weight.detach().float())
    before = accuracy(heads, held_hidden, held_targets, projection)
    vocab = tiny_loaded.info.vocab_size
    train_heads(heads, hidden, to_columns(targets, heads, vocab), projection, epochs=30, lr=3e-3)
    after = accuracy(heads, held_hidden, held_targets, projection)
    assert after["top1"][0] > before["top1"][0] + 0.1 and after["top5"][0] >= after["top1"][0]


def test_the_training_command_writes_heads_and_a_card(tiny_dir, tmp_path, capsys):
    out = tmp_path / "heads.safetensors"
    flags = ["--model", tiny_dir, "--precision", "fp32", "--heads", "2", "--vocab", "0", "--max-new-tokens", "8",
             "--epochs", "1", "--limit", "20", "--out", str(out)]  # fmt: skip
    assert main(flags) == 0
    heads, card = MedusaHeads.load(out)
    assert heads.num_heads == 2 and card.training["prompts"] == 20 and card.training["held_out"] == 2
    assert len(card.accuracy["top1"]) == 2 and card.command.endswith("--out " + str(out))
    assert "head 1 (token t+2): top-1" in capsys.readouterr().out


def test_hit_rates_by_rank_add_up_to_top_five():
    torch.manual_seed(1)
    heads = MedusaHeads(2, 4)
    weight, hidden = torch.randn(12, 4), torch.randn(40, 4)
    targets = torch.randint(0, 12, (40, 2))
    targets[:5, 1] = -100  # past the end of an answer: not counted
    scores = accuracy(heads, hidden, targets, heads.projection(weight))
    for k in range(2):
        assert len(scores["by_rank"][k]) == 10
        assert sum(scores["by_rank"][k][:5]) == pytest.approx(scores["top5"][k], abs=1e-3)
        assert scores["by_rank"][k][0] == scores["top1"][k]
    # An untrained head is the LM head: its top guess is the argmax of the logits.
    expected = (torch.argmax(hidden @ weight.T, dim=-1) == targets[:, 0]).float().mean()
    assert scores["top1"][0] == pytest.approx(float(expected), abs=1e-4)


def test_the_shipped_heads_load_with_their_card():
    from playground.training.medusa import DEFAULT_OUT

    heads, card = MedusaHeads.load(DEFAULT_OUT)
    assert card.base_model == "SmolLM2-135M-Instruct" and heads.num_heads == card.num_heads == 4
    # --vocab 8192 asked for the 8,192 most used tokens; the training answers hold fewer distinct ones.
    assert card.hidden_size == 576 and len(heads.vocab_ids) == card.restricted_vocab <= 8192
    assert all(len(card.accuracy[key]) == 4 for key in ("top1", "top5", "by_rank"))
    assert card.accuracy["top1"] == sorted(card.accuracy["top1"], reverse=True)  # later tokens are harder
    assert DEFAULT_OUT.stat().st_size < 4 * 2**20
