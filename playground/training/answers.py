"""The model's own greedy answers to the shipped prompts, saved as one corpus file:

    python -m playground.training.answers --out answers.pt [--precision nf4] [--batch 64] [--max-new-tokens 128]

The file holds `{"train": [(ids, prompt_len), ...], "held_out": [...], "precision", "max_new_tokens", "model",
"seconds", "batch"}`: `ids` is the chat-rendered prompt followed by the answer's token ids (with its end of
sequence when it ended), `prompt_len` the prompt's part. `train` answers the 1,000 prompts of `prompts.txt` (as the
Medusa heads were trained on), `held_out` the 60 of `eval_prompts.txt`. Answers come from
`playground.training.medusa.self_distill` (batched, left-padded greedy `generate`). The file is written under a
temporary name and renamed, so a reader never sees half of it.

nf4 by default, as the page runs: bf16 and nf4 answer differently from the first tokens on, and a corpus made at
nf4 guesses nf4's answers better. bf16 is cheaper to make on a CPU (bitsandbytes decodes the nf4 weights again for
every four sequences of a batch, so nf4 costs the same per token at any batch size, while bf16 shares its weights
across the batch: on a 2-core Xeon with AMX, one thread, nf4 8.6 ms of CPU per token; bf16 7.4 at batch 16, 3.2
at 64).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from playground.models.bundled import DEFAULT_MODEL_ID
from playground.training.medusa import HELD_OUT, PROMPTS, read_prompts, self_distill


def save_atomically(corpus: dict, out: Path) -> None:
    """Writes `corpus` with torch.save to a temporary name next to `out`, then renames it to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    torch.save(corpus, temporary)
    os.replace(temporary, out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command's arguments (the module docstring is its help)."""
    parser = argparse.ArgumentParser(prog="python -m playground.training.answers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64, help="prompts answered together")
    parser.add_argument("--limit", type=int, default=0, help="only the first N prompts of each file (a quick try)")
    parser.add_argument("--prompts", type=Path, default=PROMPTS)
    parser.add_argument("--held-out", type=Path, default=HELD_OUT)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Answers both prompt files and writes the corpus file; returns the exit status."""
    from playground.models import load_model

    args = parse_args(argv)
    started = time.perf_counter()
    loaded = load_model(args.model, args.precision)
    train, held = read_prompts(args.prompts), read_prompts(args.held_out)
    if args.limit:
        train, held = train[: args.limit], held[: args.limit]
    print(f"{len(train)} training and {len(held)} held-out prompts at {args.precision}; answering…", file=sys.stderr)
    corpus = {
        "train": self_distill(loaded, train, args.max_new_tokens, args.batch),
        "held_out": self_distill(loaded, held, args.max_new_tokens, args.batch),
        "precision": args.precision,
        "max_new_tokens": args.max_new_tokens,
        "model": loaded.info.id,
        "batch": args.batch,
    }
    corpus["seconds"] = round(time.perf_counter() - started, 1)
    save_atomically(corpus, args.out)
    tokens = sum(len(ids) - prompt_len for ids, prompt_len in corpus["train"] + corpus["held_out"])
    print(f"{args.out} written: {tokens} answer tokens in {corpus['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
