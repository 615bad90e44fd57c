"""Constraints for constrained beam search, and the small state machine that tracks a beam's progress.

A constraint is a set of token sequences ("options"), at least one of which must appear, contiguously, in the
generated tokens. A forced phrase is such a set too: its options are the phrase's tokenizations (BPE encodes
"umbrella" mid-sentence, after a space, differently from "umbrella" at the start of a line). A one-of set holds
the tokenizations of all its words.

A beam's progress is, per constraint, either "done" or the longest suffix of its tokens that is a prefix of an
option (so a broken phrase resets, but a token that breaks one match can start the next). Everything here is
plain data and pure functions, tested without a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.settings import SettingsError

Progress = tuple[bool, tuple[int, ...]]  # (done, partial match) of one constraint
State = tuple[Progress, ...]  # one beam's progress on every constraint


@dataclass(frozen=True)
class Constraint:
    """One requirement: at least one of `options` (token id sequences) must appear in the output."""

    kind: str  # "phrase" | "one_of"
    words: tuple[str, ...]  # what the user typed: one phrase, or the options of a one-of set
    options: tuple[tuple[int, ...], ...]  # token sequences that satisfy it; none is a prefix of another

    @property
    def label(self) -> str:
        return self.words[0] if self.kind == "phrase" else " | ".join(self.words)


def spellings(word: str) -> list[str]:
    """How `word` can occur in running text: as is, after a space, and capitalized (start of a sentence)."""
    forms = [word, " " + word]
    if word[:1].islower():
        capital = word[0].upper() + word[1:]
        forms += [capital, " " + capital]
    return forms


def drop_extensions(options: list[tuple[int, ...]]) -> tuple[tuple[int, ...], ...]:
    """Options without duplicates and without any that extends another.

    Generating a longer option passes through the shorter one first, so the shorter alone decides; keeping
    both would make the trie ambiguous.
    """
    unique = sorted(set(options), key=lambda o: (len(o), o))
    kept: list[tuple[int, ...]] = []
    for option in unique:
        if not any(option[: len(k)] == k for k in kept):
            kept.append(option)
    return tuple(kept)


def build_constraints(tokenizer, force_words: tuple[str, ...], force_one_of: tuple[tuple[str, ...], ...]):
    """The constraints of a run, each with the token sequences that satisfy it.

    Raises:
        SettingsError: a phrase has no tokens (only characters the tokenizer drops).
    """

    def encode(word: str, field: str) -> list[tuple[int, ...]]:
        # A phrase is text: one that spells a control token ("<|im_end|>") is forced as those characters.
        options = [
            tuple(tokenizer(form, add_special_tokens=False, split_special_tokens=True)["input_ids"])
            for form in spellings(word)
        ]
        options = [o for o in options if o]
        if not options:
            raise SettingsError(field, f"{field} {word!r} has no tokens in this model's vocabulary")
        return options

    constraints = [Constraint("phrase", (w,), drop_extensions(encode(w, "force_words"))) for w in force_words]
    for group in force_one_of:
        options = [o for word in group for o in encode(word, "force_one_of")]
        constraints.append(Constraint("one_of", tuple(group), drop_extensions(options)))
    return constraints


def shortest_length(constraint: Constraint) -> int:
    """Fewest tokens that can satisfy the constraint."""
    return min(len(o) for o in constraint.options)


def initial_state(constraints: list[Constraint]) -> State:
    """Nothing met, nothing begun."""
    return tuple((False, ()) for _ in constraints)


def _step(constraint: Constraint, progress: Progress, token: int) -> Progress:
    done, matched = progress
    if done:
        return progress
    extended = (*matched, token)
    suffixes = [extended[start:] for start in range(len(extended))]  # longest first
    # An option completed by this token wins, even where a longer partial match is also alive.
    if any(suffix in constraint.options for suffix in suffixes):
        return (True, ())
    # Otherwise keep the longest suffix that still begins an option.
    for suffix in suffixes:
        if any(option[: len(suffix)] == suffix for option in constraint.options):
            return (False, suffix)
    return (False, ())


def advance(constraints: list[Constraint], state: State, token: int) -> tuple[State, int | None]:
    """The state after `token`, and the index of the first constraint the token advanced (None if none did).

    A token "advances" a constraint when the constraint's partial match grows or it becomes done.
    """
    new = tuple(_step(c, p, token) for c, p in zip(constraints, state, strict=True))
    advanced = next(
        (i for i, (old, now) in enumerate(zip(state, new, strict=True)) if now != old and (now[0] or now[1])),
        None,
    )
    return new, advanced


def is_complete(state: State) -> bool:
    """Every constraint is met."""
    return all(done for done, _ in state)


def bank(constraints: list[Constraint], state: State) -> int:
    """How far a beam is toward meeting everything: a met constraint counts as the longest option's length,
    a partial one as its matched tokens (Post & Vilar's banks; transformers 4.x counted the same way)."""
    full = max(len(o) for c in constraints for o in c.options)
    return sum(full if done else len(matched) for done, matched in state)


def advancing_tokens(constraints: list[Constraint], state: State) -> set[int]:
    """Tokens that would advance an unmet constraint: the next token of each partial match, and the first
    token of every option (a new match can begin anywhere)."""
    tokens: set[int] = set()
    for constraint, (done, matched) in zip(constraints, state, strict=True):
        if done:
            continue
        for option in constraint.options:
            tokens.add(option[0])
            if matched and option[: len(matched)] == matched and len(option) > len(matched):
                tokens.add(option[len(matched)])
    return tokens


def satisfied(constraint: Constraint, token_ids: list[int]) -> bool:
    """Some option occurs contiguously in `token_ids`: the check behind `satisfies_constraints`."""
    for option in constraint.options:
        n = len(option)
        if any(tuple(token_ids[i : i + n]) == option for i in range(len(token_ids) - n + 1)):
            return True
    return False
