"""The status lines (under the Output, and Where the mass goes): plain text shown in a Markdown component."""

from __future__ import annotations

import html
import re

# What Markdown would read as markup in a run's text (a model id, a token taken at a branch): emphasis, code,
# links, strike-through, and a backslash itself. HTML is escaped separately.
MARKUP = re.compile(r"([\\`*_\[\]~])")


def status_line(text: str) -> str:
    """`text` for a status Markdown, shown as written: HTML and Markdown markup escaped, so a loaded file's model
    id or a token such as "**" reads as itself."""
    return MARKUP.sub(r"\\\1", html.escape(text, quote=False))
