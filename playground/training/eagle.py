"""Trains an EAGLE-style draft head (Li et al., 2024) for a model from its own answers, on a CPU in minutes:

    python -m playground.training.eagle [--answers answers.pt] [--precision nf4] [--vocab 8192] [--epochs 4]

1. The answers: a file of the model's own greedy answers (`--answers`: torch.load gives {"train": [(ids,
   prompt_len), ...], "held_out": [...]}, ids being the chat-rendered prompt and its answer), or, without one,
   the model answers `prompts.txt` and `eval_prompts.txt` itself, as `training/medusa.py` does.
2. One teacher-forced pass over each sequence gives the target's feature f_t (its last hidden state after the
   final norm) at every position. The head reads (f_t + noise, embed(x_{t+1})) causally over the whole sequence
   and learns f_{t+1} (smooth-L1) and, through the frozen LM head, the answer's token x_{t+2} (cross-entropy,
   weighted 0.1), on answer positions only: EAGLE-1's loss and its uniform input noise, which stands in for the
   head's own errors when it drafts from its predictions.
3. The head scores the `--vocab` tokens the model writes most often in the training answers (0: all).
4. On the held-out answers, a greedy chain of `--depth` tokens is drafted after every answer position and its
   acceptance by depth (share of positions whose first d tokens are all right) goes into the file's card.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from playground.eagle.chains import draft_chains
from playground.eagle.head import EagleCard, EagleHead, target_classes
from playground.models.bundled import DEFAULT_MODEL_ID
from playground.models.device_map import input_device
from playground.training.acceptance import IGNORE, chain_acceptance, chain_truth
from playground.training.medusa import HELD_OUT, PROMPTS, frequent_tokens, read_prompts, self_distill

Sequence = tuple[list[int], int]  # (prompt + answer token ids, prompt length)
NOISE = 0.2 * 512  # EAGLE-1's uniform noise on the input features: width NOISE / d (0.18 for d = 576)
TOKEN_WEIGHT = 0.1  # EAGLE-1's weight of the token loss beside the feature loss


@torch.no_grad()
def sequence_features(loaded, sequences: list[Sequence]) -> list[torch.Tensor]:
    """The target's feature at every position of each sequence: (L, d) float32 on the CPU, one per sequence."""
    body, device = loaded.model.base_model, input_device(loaded.model)
    out = []
    for i, (ids, _) in enumerate(sequences):
        out.append(body(input_ids=torch.tensor([ids], device=device)).last_hidden_state[0].float().cpu())
        if (i + 1) % 100 == 0:
            print(f"  features {i + 1}/{len(sequences)}", file=sys.stderr, flush=True)
    return out


def cached_features(loaded, sequences: list[Sequence], path: Path | None) -> list[torch.Tensor]:
    """`sequence_features`, kept in `path` (torch.save) and read back when it holds these very sequences."""
    if path is not None and path.exists():
        kept = torch.load(path)
        if kept["sequences"] == sequences:
            return kept["features"]
    features = sequence_features(loaded, sequences)
    if path is not None:
        torch.save({"sequences": sequences, "features": features}, path)
    return features


@dataclass
class Batch:
    """B sequences padded to T = the longest's length - 1 (input i is the pair (f_i, x_{i+1}))."""

    features: torch.Tensor  # (B, T, d) f_i
    embeds: torch.Tensor  # (B, T, d) embed(x_{i+1})
    targets: torch.Tensor  # (B, T, d) f_{i+1}
    columns: torch.Tensor  # (B, T) x_{i+2}'s logit column (IGNORE past the end or outside the scored tokens)
    learn: torch.Tensor  # (B, T) bool: the positions the loss reads (those whose f_{i+1} chooses answer tokens)
    keys: torch.Tensor  # (B, T) bool: real inputs, not padding


def make_batch(sequences: list[Sequence], features: list[torch.Tensor], embed: nn.Module, table: torch.Tensor) -> Batch:
    """A padded batch; `table` maps token ids to the head's logit columns (IGNORE when not scored)."""
    width, d = max(len(ids) for ids, _ in sequences) - 1, features[0].shape[-1]
    batch = Batch(
        torch.zeros(len(sequences), width, d),
        torch.zeros(len(sequences), width, d),
        torch.zeros(len(sequences), width, d),
        torch.full((len(sequences), width), IGNORE, dtype=torch.long),
        torch.zeros(len(sequences), width, dtype=torch.bool),
        torch.zeros(len(sequences), width, dtype=torch.bool),
    )
    with torch.no_grad():
        for row, ((ids, prompt_len), feats) in enumerate(zip(sequences, features, strict=True)):
            n, tokens = len(ids) - 1, torch.tensor(ids)
            batch.features[row, :n], batch.targets[row, :n] = feats[:-1], feats[1:]
            batch.embeds[row, :n] = embed(tokens[1:].to(embed.weight.device)).float().cpu()
            batch.columns[row, : n - 1] = table[tokens[2:]]
            batch.learn[row, max(0, prompt_len - 2) : n] = True
            batch.keys[row, :n] = True
    return batch


def eagle_loss(head: EagleHead, batch: Batch, projection: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """EAGLE-1's loss: smooth-L1 between predicted and true next features, plus 0.1 x the cross-entropy of the
    answer's token under the predicted feature's logits; means over the learnt positions."""
    width = batch.keys.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    mask = (causal[None] & batch.keys[:, None, :])[:, None]  # (B, 1, T, T)
    positions = torch.arange(width)[None].expand_as(batch.keys)
    predicted = head(batch.features + noise, batch.embeds, positions, mask)  # (B, T, d)
    learn = batch.learn
    feature_loss = nn.functional.smooth_l1_loss(predicted[learn], batch.targets[learn])
    logits = head.logits(predicted[learn], projection)  # (n, M)
    token_loss = nn.functional.cross_entropy(logits, batch.columns[learn], ignore_index=IGNORE)
    return feature_loss + TOKEN_WEIGHT * token_loss


def train_head(
    head: EagleHead, batches: list[Batch], projection: torch.Tensor, epochs: int, lr: float, seed: int = 0
) -> int:
    """AdamW (EAGLE's betas and gradient clipping) with a short warm-up and a linear decay; returns the steps."""
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    total = epochs * len(batches)
    warmup = max(1, min(50, total // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    generator = torch.Generator().manual_seed(seed)
    width = NOISE / head.fc.out_features
    head.train()
    for epoch in range(epochs):
        started, running = time.perf_counter(), 0.0
        for index in torch.randperm(len(batches), generator=generator).tolist():
            batch = batches[index]
            noise = (torch.rand(batch.features.shape, generator=generator) - 0.5) * width
            loss = eagle_loss(head, batch, projection, noise)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_value_(head.parameters(), 0.5)
            optimizer.step()
            schedule.step()
            running += float(loss.detach())
        seconds = time.perf_counter() - started
        print(f"  epoch {epoch + 1}: mean loss {running / len(batches):.3f} ({seconds:.0f} s)", file=sys.stderr)
    head.eval()
    return total


def batches_of(
    sequences: list[Sequence], features: list[torch.Tensor], embed: nn.Module, table: torch.Tensor, size: int
) -> list[Batch]:
    """Batches of `size` sequences of similar length (sorted, so padding stays small)."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i][0]))
    groups = [order[start : start + size] for start in range(0, len(order), size)]
    return [make_batch([sequences[i] for i in group], [features[i] for i in group], embed, table) for group in groups]


@torch.no_grad()
def held_out_chains(
    head: EagleHead,
    sequences: list[Sequence],
    features: list[torch.Tensor],
    embed: nn.Module,
    projection: torch.Tensor,
    depth: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The chains the head drafts at every answer origin and the answers' tokens there: (N, depth) each."""
    drafted, truth = [], []
    for (ids, prompt_len), feats in zip(sequences, features, strict=True):
        chains = draft_chains(head, feats, torch.tensor(ids), embed, projection, depth)  # (L - 1, depth)
        drafted.append(chains[prompt_len - 1 : len(ids) - 2].cpu())
        truth.append(chain_truth(ids, prompt_len, depth))
    return torch.cat(drafted), torch.cat(truth)


def column_table(head: EagleHead, vocab_size: int) -> torch.Tensor:
    """(V + 1,) token id -> the head's logit column; IGNORE for tokens it does not score (and for IGNORE itself,
    indexed as the last entry)."""
    table = torch.full((vocab_size + 1,), IGNORE, dtype=torch.long)
    ids = head.vocab_ids if head.vocab_ids is not None else torch.arange(vocab_size)
    table[ids.cpu()] = torch.arange(len(ids))
    return table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command's arguments (the module docstring is its help)."""
    parser = argparse.ArgumentParser(prog="python -m playground.training.eagle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--answers", type=Path, help="the model's own answers (else it answers the prompts)")
    parser.add_argument("--vocab", type=int, default=8192, help="tokens the head scores; 0: the whole vocabulary")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="answer length when answering here")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch", type=int, default=8, help="sequences per step")
    parser.add_argument("--depth", type=int, default=4, help="chain length measured on the held-out answers")
    parser.add_argument("--limit", type=int, default=0, help="train on N answers drawn at random (all held out)")
    parser.add_argument("--features", type=Path, help="a file that keeps the features between runs (made if absent)")
    parser.add_argument("--out", type=Path, default=Path("eagle.safetensors"))
    return parser.parse_args(argv)


def answers(loaded, args: argparse.Namespace) -> tuple[list[Sequence], list[Sequence]]:
    """(training, held-out) sequences: from `--answers`, or answered here."""
    if args.answers is not None:
        data = torch.load(args.answers)
        train, held = list(data["train"]), list(data["held_out"])
    else:
        train = self_distill(loaded, read_prompts(PROMPTS), args.max_new_tokens)
        held = self_distill(loaded, read_prompts(HELD_OUT), args.max_new_tokens)
    if args.limit:
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[: args.limit]
        train = [train[i] for i in sorted(keep.tolist())]
    return train, held


def main(argv: list[str] | None = None) -> int:
    """Trains a head as the module docstring says and writes it with its card; returns the exit status."""
    from playground.models import load_model

    args = parse_args(argv)
    started = time.perf_counter()
    torch.manual_seed(0)
    loaded = load_model(args.model, args.precision)
    train, held = answers(loaded, args)
    print(f"{len(train)} training and {len(held)} held-out answers; features…", file=sys.stderr)
    held_features = cached_features(loaded, held, args.features and args.features.with_suffix(".held.pt"))
    train_features = cached_features(loaded, train, args.features)
    featured = time.perf_counter() - started
    model, vocab_size = loaded.model, loaded.info.vocab_size
    vocab_ids = frequent_tokens(train, args.vocab) if args.vocab else None
    head = EagleHead(model.config, *target_classes(model), vocab_ids)
    projection, embed = head.projection(model.get_output_embeddings().weight), model.get_input_embeddings()
    batches = batches_of(train, train_features, embed, column_table(head, vocab_size), args.batch)
    positions = int(sum(batch.learn.sum() for batch in batches))
    print(f"{positions} training positions in {len(batches)} batches; training…", file=sys.stderr)
    steps = train_head(head, batches, projection, args.epochs, args.lr)
    drafted, truth = held_out_chains(head, held, held_features, embed, projection, args.depth)
    chain = [round(rate, 4) for rate in chain_acceptance(drafted, truth)]
    seconds = time.perf_counter() - started
    card = EagleCard(
        base_model=loaded.info.id,
        hidden_size=model.config.hidden_size,
        vocab_size=vocab_size,
        restricted_vocab=len(vocab_ids) if vocab_ids is not None else vocab_size,
        layer=head.layer_name,
        training=dict(
            answers=len(train),
            held_out=len(held),
            positions=positions,
            steps=steps,
            epochs=args.epochs,
            lr=args.lr,
            batch=args.batch,
            precision=args.precision,
            features_s=round(featured, 1),
            total_s=round(seconds, 1),
        ),
        accuracy={"chain": chain, "held_out_positions": [len(truth)]},
        command="python -m playground.training.eagle " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    head.save(args.out, card)
    for depth, rate in enumerate(chain, start=1):
        print(f"depth {depth} (token t+{depth + 1}): chain right {rate:.1%}")
    print(f"{args.out} written in {seconds / 60:.1f} min ({positions} positions, {steps} steps)")
    print(f"expected tokens per pass, chain of {args.depth}: {1 + sum(chain):.2f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
