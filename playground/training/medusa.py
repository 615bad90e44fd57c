"""Trains Medusa heads for a model from its own text (self-distillation), on a CPU in minutes:

    python -m playground.training.medusa [--precision nf4] [--heads 4] [--vocab 8192] [--max-new-tokens 128]

1. The model answers the shipped prompts greedily, through its chat template, as the page feeds them:
   `prompts.txt` (1,000 varied instructions) to train on, and `eval_prompts.txt` (60 more, on other subjects
   and written apart) to measure how well the heads guess text they never saw.
2. One teacher-forced pass over each answer gives the last hidden state at every position; head k learns to
   predict the model's own token k + 2 positions ahead from it (cross-entropy, head k weighted 0.8^k as
   Medusa does). Only the heads train: the model and its LM head stay frozen.
3. The heads score the `--vocab` tokens the model writes most often in the training answers (0: all).
4. Per-head top-1 and top-5 accuracy on the held-out prompts is printed and written into the file's card, with
   each rank's hit rate, from which the decoding draft tree is chosen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from playground.engine.context import render_prompt
from playground.engine.stopping import eos_token_ids
from playground.medusa.draft import SHIPPED
from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.models.bundled import DEFAULT_MODEL_ID
from playground.models.device_map import input_device

PROMPTS = Path(__file__).with_name("prompts.txt")
HELD_OUT = Path(__file__).with_name("eval_prompts.txt")
DEFAULT_OUT = SHIPPED[DEFAULT_MODEL_ID]  # the shipped heads, which this command remakes
IGNORE = -100
RANKS = 10  # guesses per head whose hit rate is measured (the draft tree takes its ranks from them)


def read_prompts(path: Path) -> list[str]:
    """A prompts file's non-empty lines."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_prompts(lines: list[str]) -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts): every tenth prompt is held out."""
    return [p for i, p in enumerate(lines) if i % 10], [p for i, p in enumerate(lines) if i % 10 == 0]


@torch.no_grad()
def self_distill(loaded, prompts: list[str], max_new_tokens: int, batch: int = 16) -> list[tuple[list[int], int]]:
    """The model's own greedy answers: (prompt + answer token ids, prompt length) per prompt, decoded in
    left-padded batches with transformers' generate."""
    tokenizer, model = loaded.tokenizer, loaded.model
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = set(eos_token_ids(model, tokenizer))
    out, device = [], input_device(model)  # a device-mapped model's `model.device` may be `meta`
    for start in range(0, len(prompts), batch):
        ids = [render_prompt(tokenizer, text, None)[1] for text in prompts[start : start + batch]]
        width = max(len(i) for i in ids)
        input_ids = torch.tensor([[pad] * (width - len(i)) + i for i in ids], device=device)
        mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids], device=device)
        made = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                              do_sample=False, pad_token_id=pad)  # fmt: skip
        for prompt, row in zip(ids, made[:, width:].tolist(), strict=True):
            ends = [i for i, token in enumerate(row) if token in eos]
            answer = row[: ends[0] + 1] if ends else row  # up to and with its end of sequence (then padding)
            out.append((prompt + answer, len(prompt)))
        print(f"  answered {min(start + batch, len(prompts))}/{len(prompts)}", file=sys.stderr, flush=True)
    return out


@torch.no_grad()
def features(loaded, sequences: list[tuple[list[int], int]], num_heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last hidden state at every answer position, from the last prompt token on, and the tokens the
    heads should guess there: (N, d) float32 and (N, K) token ids (IGNORE past the end)."""
    hidden, targets = [], []
    body = loaded.model.model  # the decoder without its LM head: its output is what the LM head reads
    for ids, prompt_len in sequences:
        states = body(input_ids=torch.tensor([ids], device=input_device(loaded.model))).last_hidden_state[0]  # (T, d)
        positions = range(prompt_len - 1, len(ids) - 2)
        hidden.append(states[prompt_len - 1 : len(ids) - 2].float().cpu())
        targets.append(
            torch.tensor(
                [[ids[t + k + 2] if t + k + 2 < len(ids) else IGNORE for k in range(num_heads)] for t in positions],
                dtype=torch.long,  # also when an answer is too short to give a position
            ).reshape(-1, num_heads)
        )
    return torch.cat(hidden), torch.cat(targets)


def frequent_tokens(sequences: list[tuple[list[int], int]], size: int) -> torch.Tensor:
    """The `size` tokens the answers use most, most frequent first (FR-Spec's restricted draft vocabulary)."""
    answers = torch.tensor([t for ids, prompt_len in sequences for t in ids[prompt_len:]])
    counts = torch.bincount(answers)
    return torch.argsort(counts, descending=True)[: min(size, int((counts > 0).sum()))]


def to_columns(targets: torch.Tensor, heads: MedusaHeads, vocab_size: int) -> torch.Tensor:
    """Token ids as the heads' logit columns (IGNORE for tokens outside the scored vocabulary)."""
    if heads.vocab_ids is None:
        return targets
    table = torch.full((vocab_size,), IGNORE, dtype=torch.long)
    table[heads.vocab_ids] = torch.arange(len(heads.vocab_ids))
    return torch.where(targets >= 0, table[targets.clamp(min=0)], IGNORE)


def train_heads(
    heads: MedusaHeads, hidden: torch.Tensor, columns: torch.Tensor, projection: torch.Tensor, epochs: int, lr: float
) -> int:
    """AdamW on the heads' blocks only; returns the number of steps."""
    optimizer = torch.optim.AdamW(heads.parameters(), lr=lr, weight_decay=0.0)
    weights = [0.8**k for k in range(heads.num_heads)]
    generator = torch.Generator().manual_seed(0)
    steps = 0
    for epoch in range(epochs):
        order = torch.randperm(len(hidden), generator=generator)
        total = 0.0
        for start in range(0, len(order), 256):
            rows = order[start : start + 256]
            logits = heads(hidden[rows], projection)  # (K, B, M)
            loss = sum(
                w * torch.nn.functional.cross_entropy(logits[k], columns[rows, k], ignore_index=IGNORE)
                for k, w in enumerate(weights)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            steps += 1
        print(f"  epoch {epoch + 1}: mean loss {total / max(1, len(order) // 256):.3f}", file=sys.stderr, flush=True)
    return steps


@torch.no_grad()
def accuracy(heads: MedusaHeads, hidden: torch.Tensor, targets: torch.Tensor, projection: torch.Tensor) -> dict:
    """Per head, on held-out positions: how often its top guess is the model's token ("top1"), how often the
    token is among its top five ("top5"), and how often its guess at each rank 0-9 is ("by_rank", which the
    draft tree is chosen from). A token the heads do not score counts as missed."""
    logits = heads(hidden, projection)  # (K, N, M)
    ranked = heads.token_ids(torch.topk(logits, min(RANKS, logits.shape[-1]), dim=-1).indices)  # (K, N, R)
    result: dict[str, list] = {"top1": [], "top5": [], "by_rank": []}
    for k in range(heads.num_heads):
        valid = targets[:, k] >= 0
        hits = (ranked[k, valid] == targets[valid, k][:, None]).float()  # (n, R): at most one hit per row
        result["by_rank"].append([round(float(rate), 4) for rate in hits.mean(dim=0)])
        result["top1"].append(round(float(hits[:, 0].mean()), 4))
        result["top5"].append(round(float(hits[:, :5].sum(dim=1).mean()), 4))
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command's arguments (the module docstring is its help)."""
    parser = argparse.ArgumentParser(prog="python -m playground.training.medusa", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=8192, help="tokens the heads score; 0: the whole vocabulary")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="use only the first N training prompts and N / 10 held-out ones (a quick try)",
    )
    parser.add_argument("--prompts", type=Path, default=PROMPTS)
    parser.add_argument("--held-out", type=Path, default=HELD_OUT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Trains heads as the module docstring says and writes them with their card; returns the exit status."""
    from playground.models import load_model

    args = parse_args(argv)
    started = time.perf_counter()
    torch.manual_seed(0)
    loaded = load_model(args.model, args.precision)
    train, held = read_prompts(args.prompts), read_prompts(args.held_out)
    if args.limit:
        train, held = train[: args.limit], held[: max(1, args.limit // 10)]
    print(f"{len(train)} training and {len(held)} held-out prompts; answering…", file=sys.stderr)
    train_seqs = self_distill(loaded, train, args.max_new_tokens)
    held_seqs = self_distill(loaded, held, args.max_new_tokens)
    answered = time.perf_counter() - started
    hidden, targets = features(loaded, train_seqs, args.heads)
    held_hidden, held_targets = features(loaded, held_seqs, args.heads)
    vocab_size = loaded.info.vocab_size
    vocab_ids = frequent_tokens(train_seqs, args.vocab) if args.vocab else None
    heads = MedusaHeads(args.heads, hidden.shape[-1], vocab_ids)
    projection = heads.projection(loaded.model.lm_head.weight.detach().float().cpu())
    print(f"{len(hidden)} training positions; training {args.heads} heads…", file=sys.stderr)
    steps = train_heads(heads, hidden, to_columns(targets, heads, vocab_size), projection, args.epochs, args.lr)
    scores = accuracy(heads, held_hidden, held_targets, projection)
    seconds = time.perf_counter() - started
    card = HeadsCard(
        base_model=loaded.info.id,
        num_heads=args.heads,
        hidden_size=hidden.shape[-1],
        vocab_size=vocab_size,
        restricted_vocab=len(vocab_ids) if vocab_ids is not None else vocab_size,
        training=dict(
            prompts=len(train),
            held_out=len(held),
            positions=len(hidden),
            steps=steps,
            epochs=args.epochs,
            precision=args.precision,
            answer_s=round(answered, 1),
            total_s=round(seconds, 1),
        ),
        accuracy=scores,
        command="python -m playground.training.medusa " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    heads.save(args.out, card)
    for k in range(args.heads):
        print(f"head {k + 1} (token t+{k + 2}): top-1 {scores['top1'][k]:.1%}, top-5 {scores['top5'][k]:.1%}")
    print(f"{args.out} written in {seconds / 60:.1f} min ({len(hidden)} positions, {steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
