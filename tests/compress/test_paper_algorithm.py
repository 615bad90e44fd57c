"""Our compress_prompt against LLMLingua's Algorithm 1 (iterative token-level prompt compression), written here
from the paper (Jiang et al., EMNLP 2023, section 3.3) as plainly as it reads, to compare token for token:

    T = {}                                   the tokens kept so far (after whatever precedes the compressible part)
    for each segment s_j of the compressible part:
        p(s_j) = M(s_j | T)                  each token's probability after T and the segment's earlier tokens
        gamma_j = the segment's threshold    from its losses and the target ratio
        T += {t in s_j : loss(t) > gamma_j}

No KV cache: the model reads T and the segment afresh for every segment. The threshold keeps the round(n * ratio)
least predictable tokens of a segment of n (half up; equal losses: the earlier token first), forced tokens (and
the prompt's very first token, which nothing predicts) first and counted in that share: our documented rule,
written again here without the code under test.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from playground.compress import compress_prompt, keep_mask, keep_threshold
from tests.compress.texts import LEDGER, LIGHTHOUSE, RECIPE


def paper_select(losses: list[float | None], ratio: float, forced: list[bool]) -> list[bool]:
    """One segment's kept tokens: pinned ones (forced, or unscored), then the highest losses, earliest first on
    ties, until floor(n * ratio + 0.5) are kept."""
    pinned = [force or loss is None for loss, force in zip(losses, forced, strict=True)]
    quota = math.floor(len(losses) * ratio + 0.5)
    free = sorted((j for j in range(len(losses)) if not pinned[j]), key=lambda j: (-losses[j], j))
    chosen = set(free[: max(0, quota - sum(pinned))])
    return [pinned[j] or j in chosen for j in range(len(losses))]


@torch.no_grad()
def paper_compress(model, context, ids, compressible, forced, ratio, segment_size):
    """Algorithm 1 over the message `ids` read after `context`; [first, end) = `compressible` is cut into segments.

    Returns:
        (losses, kept) per message token: None / True outside the compressible part.
    """
    first, end = compressible
    losses: list[float | None] = [None] * len(ids)
    kept = [True] * len(ids)
    read = list(context) + ids[:first]  # T, with what precedes the compressible part
    for start in range(first, end, segment_size):
        stop = min(start + segment_size, end)
        sequence = torch.tensor([read + ids[start:stop]])
        logp = F.log_softmax(model(input_ids=sequence).logits[0].float(), dim=-1)  # (len, V): row i predicts i + 1
        for j in range(start, stop):
            at = len(read) + j - start
            losses[j] = None if at == 0 else -logp[at - 1, ids[j]].item()
        kept[start:stop] = paper_select(losses[start:stop], ratio, forced[start:stop])
        read += [ids[j] for j in range(start, stop) if kept[j]]
    return losses, kept


def message_reading(tokenizer, prompt: str, chat: bool):
    """(context, ids, offsets): what the model reads before the message, the message's tokens and characters."""
    own = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
    context = []
    if chat:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
        context = tokenizer(rendered[: rendered.index(prompt)], add_special_tokens=False)["input_ids"]
    else:  # what the tokenizer puts in front of a text (a BOS, for some)
        context = tokenizer(prompt)["input_ids"][: -len(own["input_ids"])]
    return context, own["input_ids"], [tuple(pair) for pair in own["offset_mapping"]]


def whole_words(prompt: str, words: list[str], offsets) -> list[bool]:
    """Tokens that spell part of an occurrence of one of `words` standing as a word of its own."""
    hits = [m.span() for word in words for m in re.finditer(rf"\b{re.escape(word)}\b", prompt)]
    return [any(a < hit_end and b > hit_start for hit_start, hit_end in hits) for a, b in offsets]


def check_against_paper(loaded, prompt, span, ratio, segment_size, words, chat):
    context, ids, offsets = message_reading(loaded.tokenizer, prompt, chat)
    inside = [span[0] <= max(a, b - 1) < span[1] for a, b in offsets]  # a token belongs where its last character is
    compressible = (inside.index(True), len(inside) - inside[::-1].index(True))
    forced = whole_words(prompt, words, offsets)
    losses, kept = paper_compress(loaded.model, context, ids, compressible, forced, ratio, segment_size)
    ours = compress_prompt(loaded, prompt, ratio, span=span, force_tokens=words, segment_size=segment_size, chat=chat)
    assert [token.id for token in ours.tokens] == ids
    assert [token.forced for token in ours.tokens] == forced
    assert [token.compressible for token in ours.tokens] == [
        compressible[0] <= j < compressible[1] for j in range(len(ids))
    ]
    assert [token.loss is None for token in ours.tokens] == [loss is None for loss in losses]
    scored = [j for j, loss in enumerate(losses) if loss is not None]
    torch.testing.assert_close(
        torch.tensor([ours.tokens[j].loss for j in scored]),
        torch.tensor([losses[j] for j in scored]),
        atol=1e-4,
        rtol=0,
    )
    assert [token.kept for token in ours.tokens] == kept
    assert ours.ids == [token for token, keep in zip(ids, kept, strict=True) if keep]
    return ours


def sentence_span(prompt: str, sentences: slice) -> tuple[int, int]:
    """Characters of the prompt's sentences `sentences` (split after '. ' and at line breaks)."""
    ends = [0] + [m.end() for m in re.finditer(r"\. |\n", prompt)] + [len(prompt)]
    picked = list(itertools.pairwise(ends))[sentences]
    return picked[0][0], picked[-1][1]


SPANS = {  # the compressible part: all, all but the question, or a middle with text kept whole on both sides
    "all": lambda prompt: (0, len(prompt)),
    "context": lambda prompt: sentence_span(prompt, slice(0, -1)),
    "middle": lambda prompt: sentence_span(prompt, slice(1, 4)),
}
CASES = [  # (prompt, span, ratio, segment size, forced words, chat)
    (LIGHTHOUSE, "all", 1.0, 200, [], False),
    (LIGHTHOUSE, "all", 0.5, 200, [], False),
    (LIGHTHOUSE, "all", 0.25, 50, ["1871", "Brandt", "lamp"], False),
    (RECIPE, "context", 0.5, 64, [], True),
    (RECIPE, "context", 0.25, 29, ["grams", "250"], True),
    (LEDGER, "middle", 0.5, 30, ["shillings"], False),
    (LEDGER, "context", 0.25, 200, ["Okafor", "120"], True),
    (LEDGER, "context", 1.0, 40, [], True),
]


@pytest.mark.integration
@pytest.mark.parametrize(("prompt", "where", "ratio", "segment_size", "words", "chat"), CASES)
def test_compress_prompt_is_the_paper_algorithm(bundled_fp32, prompt, where, ratio, segment_size, words, chat):
    ours = check_against_paper(bundled_fp32, prompt, SPANS[where](prompt), ratio, segment_size, words, chat)
    assert all(token.kept for token in ours.tokens if token.forced)
    if ratio == 1.0:
        assert all(token.kept for token in ours.tokens)


# Segments of 2 at ratio 0.2 keep nothing (round(0.4) = 0) but forced words: the next segment is read right after the
# last token kept before it.
TINY_CASES = [(0.5, 7, ["cat"], True), (0.25, 16, [], False), (0.2, 2, ["cat"], True), (0.2, 2, [], False)]


@pytest.mark.parametrize(("ratio", "segment_size", "words", "chat"), TINY_CASES)
def test_compress_prompt_is_the_paper_algorithm_on_a_tiny_model(tiny_loaded, ratio, segment_size, words, chat):
    prompt = "The cat sat on the mat. A concatenated cat line. What sat?"
    check_against_paper(tiny_loaded, prompt, (4, 49), ratio, segment_size, words, chat)


losses_lists = st.lists(
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 7.25]) | st.floats(0, 20, width=32), min_size=1, max_size=40
)


@given(data=st.data(), losses=losses_lists, ratio=st.floats(0.001, 1.0))
@example(data=None, losses=[2.0, 2.0, 2.0], ratio=0.5)
def test_selection_rule_is_the_papers(data, losses, ratio):
    n = len(losses)
    forced = [False] * n if data is None else data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    kept = keep_mask(torch.tensor(losses), ratio, torch.tensor(forced)).tolist()
    assert kept == paper_select(losses, ratio, forced)
    quota = math.floor(n * ratio + 0.5)
    assert sum(kept) == max(quota, sum(forced)) and abs(quota - n * ratio) <= 0.5
    threshold = keep_threshold(torch.tensor(losses), ratio)
    plain = paper_select(losses, ratio, [False] * n)
    assert all(loss >= threshold for loss, keep in zip(losses, plain, strict=True) if keep)
    assert all(loss <= threshold for loss, keep in zip(losses, plain, strict=True) if not keep)
