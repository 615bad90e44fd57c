"""A forking analysis built by hand, for the views' tests: three positions of a four-token run, the answer "4"
until step 2's token, where the outcome moves to "5" (a change point), with one sample that has no outcome."""

from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkBranch, ForkPosition
from playground.trace import Sample


def sample(text: str, seed: int = 0) -> Sample:
    return Sample(seed=seed, token_ids=[1, 2], probs=[0.5, 0.5], text=text, stop_reason="max_new_tokens")


def branch(token_id: int, text: str, prob: float, weight: float, outcomes: list) -> ForkBranch:
    texts = [f"so it is {o}." if o is not None else "I cannot say." for o in outcomes]
    return ForkBranch(token_id, text, prob, weight, [sample(t, i) for i, t in enumerate(texts)], outcomes)


def handmade_analysis(stopped: str | None = None) -> ForkAnalysis:
    """Positions at steps 0, 1 and 2 (0-based); the change point at step 1 (TV 0.75 > 0.3)."""
    first = ForkPosition(0, 10, [branch(10, " Two", 0.6, 0.75, ["4", "4"]), branch(11, " The", 0.2, 0.25,
                                                                                       ["4", None])],
                         {"4": 0.875, "(none)": 0.125}, 0.0)  # fmt: skip
    second = ForkPosition(1, 20, [branch(20, " plus", 0.9, 1.0, ["5", "5"])], {"5": 1.0}, 0.875)
    third = ForkPosition(2, 30, [branch(30, " two", 0.5, 1.0, ["5", "5"])], {"5": 1.0}, 0.0)
    return ForkAnalysis(
        rule="the last number in the text",
        outcomes=["5", "4", "(none)"],
        positions=[first, second, third],
        change_points=[1],
        request=ForkRequest(samples=2, alternatives=1, max_positions=3),
        new_tokens=40,
        seconds=1.5,
        stopped=stopped,
    )


TEXTS = [" Two", " plus", " two", " is"]  # the run's tokens, by step
