"""The corpus the suffix draft ships with, from the answers `playground.training.answers` saved:

    python -m playground.training.suffix_corpus --answers answers.pt [--out playground/suffix/<model>.npz]

It keeps the training prompts' documents (chat-rendered prompt and the model's answer) and leaves out the
held-out answers, which measure the draft, and every training prompt that contains a benchmark's prompt or is
contained in one (`benchmarks/*prompts*.txt` and the benchmarks' PROMPT / PROMPTS constants), so no benchmark
measures text the draft has seen.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import torch

from playground.models.bundled import DEFAULT_MODEL_ID
from playground.suffix.corpus import SHIPPED, save_documents
from playground.training.medusa import PROMPTS, read_prompts

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def benchmark_prompts(folder: Path = BENCHMARKS) -> list[str]:
    """The prompts the benchmarks in `folder` run: the lines of its *prompts*.txt files (a line "kind<TAB>prompt"
    gives its prompt; "#" starts a comment) and the string values of module-level PROMPT / PROMPTS constants (a
    string, a list, or a dict) of its scripts (a constant that is not a literal, a file's path say, is not one)."""
    lines = [line for path in sorted(folder.glob("*prompts*.txt")) for line in read_prompts(path)]
    found = [line.split("\t", 1)[-1] for line in lines if not line.startswith("#")]
    for path in sorted(folder.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)]
            if {"PROMPT", "PROMPTS"} & set(names):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                values = value.values() if isinstance(value, dict) else [value] if isinstance(value, str) else value
                found += [text for text in values if isinstance(text, str)]
    return found


def _words(text: str) -> str:
    """`text` lower-cased, its punctuation and spacing reduced to single spaces."""
    return " " + re.sub(r"\W+", " ", text.lower()).strip() + " "


def overlaps(prompt: str, others: list[str]) -> bool:
    """Whether `prompt` contains one of `others`, or one of them contains it (word by word, ignoring case and
    punctuation)."""
    words = _words(prompt)
    return any(_words(other) in words or words in _words(other) for other in others)


def kept_documents(train: list[tuple[list[int], int]], prompts: list[str], excluded: list[str]) -> list[list[int]]:
    """The token ids of the training documents whose prompt overlaps none of `excluded`.

    Args:
        train: (prompt + answer ids, prompt length) per prompt, in the order of `prompts`.
        prompts: the training prompts' texts.
        excluded: prompts whose neighbours must stay out (the benchmarks').
    """
    if len(train) != len(prompts):
        raise ValueError(f"train holds {len(train)} answers for {len(prompts)} prompts")
    return [ids for (ids, _), prompt in zip(train, prompts, strict=True) if not overlaps(prompt, excluded)]


def main(argv: list[str] | None = None) -> int:
    """Writes the shipped corpus as the module docstring says; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m playground.training.suffix_corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--answers", type=Path, required=True, help="the file playground.training.answers wrote")
    parser.add_argument("--prompts", type=Path, default=PROMPTS, help="the prompts its training answers answer")
    parser.add_argument("--out", type=Path, default=SHIPPED[DEFAULT_MODEL_ID])
    args = parser.parse_args(argv)
    corpus = torch.load(args.answers)
    prompts = read_prompts(args.prompts)
    documents = kept_documents(corpus["train"], prompts, benchmark_prompts())
    save_documents(documents, args.out)
    tokens = sum(len(doc) for doc in documents)
    print(f"{args.out}: {len(documents)} of {len(prompts)} documents, {tokens} tokens, "
          f"{args.out.stat().st_size / 1024:.0f} KiB ({corpus['model']}, {corpus['precision']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
