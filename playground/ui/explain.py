"""The page's explanations of each view and control, kept in assets/explanations.md so they can be edited as
text. Each section is "## key", a title line, then the explanation."""

from __future__ import annotations

import functools
import re
from pathlib import Path

EXPLANATIONS = Path(__file__).resolve().parents[2] / "assets" / "explanations.md"


@functools.cache
def explanations(path: Path = EXPLANATIONS) -> dict[str, tuple[str, str]]:
    """key -> (title, explanation as one paragraph)."""
    text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)
    found = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        key, title, *body = section.strip().splitlines()
        found[key.strip()] = (title.strip(), " ".join(line.strip() for line in body if line.strip()))
    return found


def explain(key: str) -> str:
    """One section as Markdown: the title in bold, then the explanation."""
    title, body = explanations()[key]
    return f"**{title}.** {body}"


def explain_all(keys: list[str]) -> str:
    """Several sections as a Markdown list."""
    return "\n".join(f"- {explain(key)}" for key in keys)
