"""What the Output's and the prompt's tokens are coloured by: the chosen token's probability, its GLTR rank
bucket (Gehrmann et al. 2019: top-10, top-100, top-1000, beyond), the entropy of the distribution it was drawn
from, or its surprisal -log2 p.

Every token's span carries the class of its band in every mode at once; the "Colour by" control only sets which
mode the page shows (`SET_MODE_JS`, a data attribute the stylesheet reads), so changing it redraws nothing on
the server and re-runs nothing: the colours come from the figures the trace already holds.
"""

from __future__ import annotations

import html
import json
import math

PROBABILITY, RANK, ENTROPY, SURPRISAL = "probability", "GLTR rank", "entropy", "surprisal"
MODES = (PROBABILITY, RANK, ENTROPY, SURPRISAL)
MODE_KEYS = {PROBABILITY: "probability", RANK: "rank", ENTROPY: "entropy", SURPRISAL: "surprisal"}  # CSS names

# Upper bounds (exclusive) of each mode's bands and their CSS classes, the band read first listed first.
PROBABILITY_BANDS = ((0.05, "p0"), (0.2, "p1"), (0.5, "p2"), (0.9, "p3"), (math.inf, "p4"))
RANK_BANDS = ((10, "r0"), (100, "r1"), (1000, "r2"), (math.inf, "r3"))  # rank <= bound: GLTR's buckets
ENTROPY_BANDS = ((0.5, "e0"), (1.5, "e1"), (3.0, "e2"), (math.inf, "e3"))  # nats
SURPRISAL_BANDS = ((1.0, "s0"), (3.0, "s1"), (6.0, "s2"), (10.0, "s3"), (math.inf, "s4"))  # bits
NOT_RECORDED = "nr"  # a figure the trace (or the prompt's first token) does not have

LABELS = {
    "p0": "< 5%", "p1": "5–20%", "p2": "20–50%", "p3": "50–90%", "p4": "≥ 90%",
    "r0": "top 10", "r1": "top 100", "r2": "top 1000", "r3": "beyond",
    "e0": "< 0.5 nats", "e1": "0.5–1.5", "e2": "1.5–3", "e3": "≥ 3 nats",
    "s0": "< 1 bit", "s1": "1–3 bits", "s2": "3–6", "s3": "6–10", "s4": "≥ 10 bits",
}  # fmt: skip
LEGEND_TEXT = {
    PROBABILITY: ("Chance the model gave each chosen token:", PROBABILITY_BANDS),
    RANK: ("Rank of each token among all tokens, by the model's distribution (GLTR):", RANK_BANDS),
    ENTROPY: ("Entropy of the distribution each token was drawn from (how unsure the model was):", ENTROPY_BANDS),
    SURPRISAL: ("Surprisal of each token, −log₂ p (how surprised the model was by it):", SURPRISAL_BANDS),
}
HOW_TO = " · hover a token for its alternatives; click it to open that step and to take another token there"

# Sets the shown mode on the page's body, where the stylesheet reads it (`data-colour`): both coloured texts
# follow at once, and a text drawn later (a new run, the prompt coloured) is drawn in it too.
SET_MODE_JS = f"(mode) => {{ document.body.dataset.colour = {json.dumps(MODE_KEYS)}[mode]; }}"


def band_of(value: float | None, bands: tuple[tuple[float, str], ...], inclusive: bool = False) -> str:
    """The class of `value`'s band (`bands` ascending by upper bound, exclusive unless `inclusive`; the last band
    takes whatever is above, an infinite surprisal included); `NOT_RECORDED` when the value is None."""
    if value is None:
        return NOT_RECORDED
    below = (name for upper, name in bands if (value <= upper if inclusive else value < upper))
    return next(below, bands[-1][1])


def gltr_bucket(rank: int | None) -> str:
    """GLTR's bucket of a 1-based rank: r0 top-10, r1 top-100, r2 top-1000, r3 beyond."""
    return band_of(rank, RANK_BANDS, inclusive=True)


def surprisal_bits(prob: float | None) -> float | None:
    """-log2 p in bits (inf for p = 0); None when p is."""
    if prob is None:
        return None
    return -math.log2(prob) if prob > 0 else math.inf


def colour_classes(prob: float | None, rank: int | None, entropy: float | None) -> str:
    """A token's band classes in every mode, space-separated: probability, GLTR rank, entropy, surprisal. A
    mode whose figure is missing gets `NOT_RECORDED` (its own class, so one mode's gap leaves the others)."""
    figures = (
        band_of(prob, PROBABILITY_BANDS),
        gltr_bucket(rank),
        band_of(entropy, ENTROPY_BANDS),
        band_of(surprisal_bits(prob), SURPRISAL_BANDS),
    )
    return " ".join(name if name != NOT_RECORDED else f"{NOT_RECORDED}-{MODE_KEYS[mode]}"
                    for name, mode in zip(figures, MODES, strict=True))  # fmt: skip


def figures_line(prob: float | None, rank: int | None, entropy: float | None, varentropy: float | None) -> str:
    """The figures a hover card adds in one line: rank, surprisal, and the distribution's varentropy."""
    bits = surprisal_bits(prob)
    parts = [
        "rank not recorded" if rank is None else f"rank {rank}",
        "surprisal not recorded" if bits is None else f"{bits:.2f} bits",
        "varentropy not recorded" if varentropy is None else f"varentropy {varentropy:.2f} nats²",
    ]
    if entropy is None:
        parts.insert(0, "entropy not recorded")
    return " · ".join(parts)


def legends(what: str = HOW_TO) -> str:
    """One legend per mode (the stylesheet shows the chosen mode's), each band's swatch with its label; `what`
    ends each, saying what a person can do with the tokens."""
    out = []
    for mode, (title, bands) in LEGEND_TEXT.items():
        swatches = "".join(f'<span class="tok {name}">{html.escape(LABELS[name])}</span>' for _, name in bands)
        # Only a rank can be missing from a run's token (traces written before ranks were kept).
        missing = f'<span class="tok {NOT_RECORDED}-rank">not recorded</span>' if mode == RANK else ""
        out.append(f'<div class="legend by-{MODE_KEYS[mode]}">{html.escape(title)} {swatches}{missing}{what}</div>')
    return "".join(out)
