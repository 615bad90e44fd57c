"""Training the EAGLE head on a tiny model's own text: the batch lines pairs up as EAGLE reads them, a few epochs
teach the head the token after next (better than untrained), and the command writes a head with its card."""

import torch

from playground.eagle.head import EagleHead, target_classes
from playground.training.acceptance import IGNORE, chain_acceptance
from playground.training.eagle import (
    batches_of,
    column_table,
    held_out_chains,
    main,
    make_batch,
    sequence_features,
    train_head,
)
from playground.training.medusa import frequent_tokens, self_distill, split_prompts

WORDS = ("cat", "dog", "hat", "bat", "rat", "cow", "pig", "hen")


def test_a_batch_pairs_each_feature_with_the_next_token_and_learns_on_the_answer_only(tiny_loaded):
    model = tiny_loaded.model
    sequences = [([9, 10, 11, 12, 13, 14], 3), ([20, 21, 22, 23], 2)]  # (prompt + answer ids, prompt length)
    features = sequence_features(tiny_loaded, sequences)
    head = EagleHead(model.config, *target_classes(model), torch.tensor([12, 13, 14, 22]))
    batch = make_batch(sequences, features, model.get_input_embeddings(), column_table(head, model.config.vocab_size))
    assert batch.features.shape == (2, 5, 32) and batch.keys.tolist()[1] == [True, True, True, False, False]
    assert torch.equal(batch.targets[0, 0], features[0][1]) and torch.equal(batch.features[0, 1], features[0][1])
    assert torch.allclose(batch.embeds[0, 0], model.get_input_embeddings()(torch.tensor(10)))
    # Input i guesses x_{i+2}: columns of 12, 13, 14 (scored), then nothing past the end; 23 is not scored.
    assert batch.columns[0].tolist() == [IGNORE, 0, 1, 2, IGNORE] and batch.columns[1].tolist()[:2] == [3, IGNORE]
    # The loss reads the inputs whose next feature chooses an answer token: from the prompt's last but one.
    assert batch.learn[0].tolist() == [False, True, True, True, True]
    assert batch.learn[1].tolist() == [True, True, True, False, False]


def test_a_few_epochs_teach_the_head_the_token_after_next(tiny_loaded):
    torch.manual_seed(0)
    prompts = [f"the {w} sat on the {v}" for w in WORDS for v in ("mat", "rug", "bed")]
    train, held = split_prompts(prompts)
    sequences = self_distill(tiny_loaded, train, max_new_tokens=16, batch=8)
    held_seqs = self_distill(tiny_loaded, held, max_new_tokens=16, batch=8)
    model, embed = tiny_loaded.model, tiny_loaded.model.get_input_embeddings()
    head = EagleHead(model.config, *target_classes(model), frequent_tokens(sequences, 40))
    projection = head.projection(model.lm_head.weight)
    held_features = sequence_features(tiny_loaded, held_seqs)
    before = chain_acceptance(*held_out_chains(head, held_seqs, held_features, embed, projection, depth=2))
    table = column_table(head, model.config.vocab_size)
    batches = batches_of(sequences, sequence_features(tiny_loaded, sequences), embed, table, size=4)
    assert train_head(head, batches, projection, epochs=10, lr=3e-3) == 10 * len(batches)
    after = chain_acceptance(*held_out_chains(head, held_seqs, held_features, embed, projection, depth=2))
    assert after[0] > before[0] + 0.2 and after[1] <= after[0]


def test_the_training_command_writes_a_head_and_its_card(tiny_dir, tmp_path, capsys):
    from playground.models import load_model

    loaded = load_model(tiny_dir, "fp32")
    sequences = self_distill(loaded, [f"a {w} and a {w}" for w in WORDS], max_new_tokens=8, batch=8)
    torch.save({"train": sequences[:6], "held_out": sequences[6:]}, tmp_path / "answers.pt")
    out = tmp_path / "eagle.safetensors"
    flags = ["--model", tiny_dir, "--precision", "fp32", "--answers", str(tmp_path / "answers.pt"), "--vocab", "0",
             "--epochs", "1", "--batch", "2", "--depth", "3", "--out", str(out)]  # fmt: skip
    assert main(flags) == 0
    head, card = EagleHead.load(out, loaded.model.config, *target_classes(loaded.model))
    assert card.training["answers"] == 6 and card.training["held_out"] == 2 and card.layer == "LlamaDecoderLayer"
    assert len(card.accuracy["chain"]) == 3 and card.command.endswith("--out " + str(out))
    assert head.vocab_ids is None and card.restricted_vocab == card.vocab_size  # --vocab 0: every token
    assert "depth 1 (token t+2): chain right" in capsys.readouterr().out
