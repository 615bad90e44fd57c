"""Many samples in one batch against as many single runs, and the time of a depth-3 "Where the mass goes" tree,
in one process.

    python -m benchmarks.sample_many [--precision nf4] [--samples 64] [--max-new-tokens 32]

The batch reads the prompt once and decodes every sample in one forward pass per step; the single runs decode
them one after another with the same seeds. It also counts how many samples equal their seed's single run: in
fp32 all of them (the tests check it); at other precisions the batched kernels round differently from the
single-row ones, so a draw near a boundary may go another way.
"""

from __future__ import annotations

import argparse

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate
from playground.engine.mass import mass_tree
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()

    loaded = load_model(args.model, args.precision)
    n, tokens = args.samples, args.max_new_tokens
    # min_new_tokens = max_new_tokens: every sample writes the same number of tokens, so both sides do equal work.
    settings = Settings(strategy="sample", temperature=0.9, top_p=0.95, max_new_tokens=tokens, min_new_tokens=tokens)
    print(f"model {loaded.info.id} {loaded.info.precision} on {loaded.info.device}: {n} samples x {tokens} tokens")
    print(machine.describe())
    generate(loaded, PROMPT, settings.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
    batch_s, batch = timed(lambda: generate(loaded, PROMPT, settings.replace(num_samples=n)))
    singles_s, singles = timed(lambda: [generate(loaded, PROMPT, settings.replace(seed=s)) for s in range(n)])
    same = sum(
        sample.token_ids == single.output.token_ids
        for sample, single in zip(batch.samples.samples, singles, strict=True)
    )
    print(f"batched: {batch_s:.2f} s ({n * tokens / batch_s:.1f} tokens/s, {batch.samples.forward_passes} passes)")
    print(f"{n} single runs: {singles_s:.2f} s ({n * tokens / singles_s:.1f} tokens/s)")
    print(f"batched is {singles_s / batch_s:.2f}x faster; {same} of {n} samples equal their seed's single run")
    for depth in (2, 3):
        mass_settings = Settings(strategy="sample", temperature=1.0, top_p=0.95, mass_depth=depth)
        seconds, tree = timed(lambda s=mass_settings: mass_tree(loaded, PROMPT, s))
        print(
            f"mass tree, depth {depth} at p >= {tree.threshold:g}: {seconds:.2f} s, {tree.nodes} continuations, "
            f"{tree.forward_passes} forward passes"
        )


if __name__ == "__main__":
    main()
