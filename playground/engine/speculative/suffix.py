"""A suffix index of earlier texts as a free draft (SuffixDecoding, Oliaro et al. 2024): the tokens that followed
the longest stretch of earlier text that ends the way the current text ends.

The documents (token id lists) are laid end to end, each followed by a separator of its own (a negative id no
token has), and their suffixes are sorted once (a suffix array, by prefix doubling in numpy). The occurrences of
a pattern are then one contiguous run of that array, found by binary search, and the tokens that follow them are
sorted within the run, so each proposed token narrows the run to its own group. No match runs across two
documents: a separator occurs once and matches nothing.

`load_index(model_id)` builds the index of the corpus that ships for a model (`playground/suffix/`) at first use.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right

import numpy as np

from playground.suffix.corpus import shipped_documents

MAX_PATTERN = 32  # the longest end of the text that is looked up, in tokens
MIN_MATCH = 2  # the shortest: one token alone says too little about what follows
MIN_PROB = 0.1  # a token whose estimated chance is below this ends the proposal
MIN_COUNT = 1  # occurrences a match, and a proposed token, needs
# Occurrences added to the matching ones when a token's chance is estimated: count / (matching + PRIOR). On the
# model's held-out answers the plain share overstated it (a token seen once, share 1, was right half the time);
# with 1 added, estimates of 0.3, 0.5, 0.7 and 0.87 were right 16%, 39%, 49% and 90% of the time.
PRIOR = 1.0
SCAN_IN_NUMPY = 64  # a run longer than this is scanned in numpy; a shorter one in Python, which costs less


def suffix_array(tokens: np.ndarray) -> np.ndarray:
    """The start positions of `tokens`' suffixes in lexicographic order (a shorter suffix that is a prefix of a
    longer one first), by prefix doubling: each round sorts by (rank of the first k tokens, rank of the next k).

    Args:
        tokens: (N,) integers.
    """
    n = len(tokens)
    rank = np.unique(tokens, return_inverse=True)[1].astype(np.int64)  # (N,) dense ranks 0..
    order = np.argsort(rank, kind="stable")
    k = 1
    while n and rank[order[-1]] < n - 1:  # until every suffix has a rank of its own
        following = np.full(n, -1, dtype=np.int64)  # a suffix that ends sorts before any that goes on
        following[: n - k] = rank[k:]
        key = rank * (n + 1) + following + 1  # (N,) the pair as one integer
        order = np.argsort(key, kind="stable")
        changed = np.diff(key[order]) != 0
        rank[order] = np.concatenate(([0], np.cumsum(changed)))
        k *= 2
    return order


class SuffixIndex:
    """The suffixes of a set of documents, for proposing what followed the text's end in them.

    Args:
        documents: token id lists; a match never runs across two of them.
        max_pattern, min_match: the longest and the shortest end of the text that is looked up.
        min_prob: the estimated chance a proposed token needs.
        min_count: the occurrences a match, and each proposed token, needs.
        prior: added to the still-matching occurrences when a token's chance is estimated (0: its plain share).
    """

    def __init__(
        self,
        documents: list[list[int]],
        max_pattern: int = MAX_PATTERN,
        min_match: int = MIN_MATCH,
        min_prob: float = MIN_PROB,
        min_count: int = MIN_COUNT,
        prior: float = PRIOR,
    ):
        if not 1 <= min_match <= max_pattern:
            raise ValueError(f"min_match must be in 1..max_pattern ({max_pattern}), not {min_match}")
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, not {min_count}")
        if prior < 0:
            raise ValueError(f"prior must be at least 0, not {prior}")
        self.max_pattern, self.min_match, self.min_prob, self.min_count = max_pattern, min_match, min_prob, min_count
        self.prior = prior
        pieces = [np.append(np.asarray(doc, dtype=np.int64), -1 - i) for i, doc in enumerate(documents)]
        tokens = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)  # (N,) documents and separators
        self.tokens = tokens
        self.order = suffix_array(tokens)
        self.num_tokens = int(len(tokens) - len(pieces))
        # Python lists for the binary search: slicing them is much cheaper than slicing numpy arrays.
        self._tokens, self._order = tokens.tolist(), self.order.tolist()

    def _first(self, pattern: list[int]) -> int:
        """The first index of the suffix array whose suffix starts with `pattern` or sorts after it."""
        width = len(pattern)
        return bisect_left(self._order, pattern, key=lambda start: self._tokens[start : start + width])

    def _occurs(self, pattern: list[int], lo: int, times: int) -> bool:
        """Whether the suffixes at lo .. lo + times - 1 of the suffix array all start with `pattern`: they do
        when `pattern` occurs `times` times, its run starting at lo."""
        last = lo + times - 1
        return last < len(self._order) and self._tokens[self._order[last] : self._order[last] + len(pattern)] == pattern

    def longest_match(self, text: list[int]) -> tuple[int, int, int]:
        """(length, lo, hi): the longest end of `text` (min_match..max_pattern tokens) that occurs at least
        min_count times, and its run [lo, hi) of the suffix array; (0, 0, 0) when none does. A shorter end occurs
        wherever a longer one does, so the length is found by binary search."""
        found, start = 0, 0
        low, high = self.min_match, min(self.max_pattern, len(text))
        while low <= high:
            length = (low + high) // 2
            lo = self._first(text[len(text) - length :])
            if self._occurs(text[len(text) - length :], lo, self.min_count):
                found, start, low = length, lo, length + 1
            else:
                high = length - 1
        if not found:
            return 0, 0, 0
        pattern = text[len(text) - found :]
        end = bisect_right(self._order, pattern, lo=start, key=lambda at: self._tokens[at : at + found])
        return found, start, end

    def _most_frequent_next(self, lo: int, hi: int, length: int) -> tuple[int, int, int]:
        """(token, first, count): the token that most often follows the run [lo, hi) of suffixes sharing their
        first `length` tokens (the smallest id on a tie), the first index of its group in the run and the group's
        size; count 0 when every occurrence ends there. The tokens that follow are sorted within the run."""
        if hi - lo > SCAN_IN_NUMPY:
            return self._most_frequent_next_numpy(lo, hi, length)
        tokens, order = self._tokens, self._order
        best, first, count = -1, lo, 0
        i = lo
        while i < hi:
            token, j = tokens[order[i] + length], i + 1
            while j < hi and tokens[order[j] + length] == token:
                j += 1
            if token >= 0 and j - i > count:  # a separator (negative) ends its occurrence
                best, first, count = token, i, j - i
            i = j
        return best, first, count

    def _most_frequent_next_numpy(self, lo: int, hi: int, length: int) -> tuple[int, int, int]:
        """`_most_frequent_next` for a long run, in numpy."""
        following = self.tokens[self.order[lo:hi] + length]  # (hi - lo,) sorted
        starts = np.concatenate(([0], np.flatnonzero(following[1:] != following[:-1]) + 1))  # (G,) group starts
        counts = np.concatenate((starts[1:], [hi - lo])) - starts  # (G,)
        counts[following[starts] < 0] = 0
        best = int(np.argmax(counts))  # the first of the largest: the smallest token id
        return int(following[starts[best]]), lo + int(starts[best]), int(counts[best])

    def propose(self, text: list[int], budget: int) -> tuple[list[int], list[float]]:
        """What followed the longest matching end of `text` in the documents: up to `budget` tokens, each the
        most frequent next token among the occurrences still matching (the smallest id on a tie), with its
        estimated chance of being right given the ones before it: the occurrences that continue with it over the
        still-matching ones plus `prior` (an occurrence at a document's end counts, continuing with nothing).
        Stops at a token whose chance is below min_prob or that fewer than min_count occurrences continue with.

        Args:
            text: the token ids so far (prompt and output).
            budget: the most tokens to propose.

        Returns:
            (tokens, probabilities); ([], []) when no end of `text` matches or `budget` is 0.
        """
        length, lo, hi = self.longest_match(text) if budget > 0 else (0, 0, 0)
        tokens: list[int] = []
        probs: list[float] = []
        while length and len(tokens) < budget:
            token, first, count = self._most_frequent_next(lo, hi, length)
            prob = count / (hi - lo + self.prior)
            if count < self.min_count or prob < self.min_prob:
                break
            tokens.append(token)
            probs.append(prob)
            lo, hi, length = first, first + count, length + 1
        return tokens, probs


_indexes: dict[str, SuffixIndex | None] = {}
_lock = threading.Lock()


def load_index(model_id: str) -> SuffixIndex | None:
    """The index of the model's own answers that ship for `model_id` (built once, then shared), or None when no
    corpus ships for it."""
    with _lock:  # one build, also when two runs ask at once
        if model_id not in _indexes:
            documents = shipped_documents(model_id)
            _indexes[model_id] = SuffixIndex(documents) if documents is not None else None
        return _indexes[model_id]
