"""Frankle & Carbin's headline claims, each measured on stored results with an explicit rule.

Every function takes tidy frames from :func:`lthlib.summary.runs_frame` and
returns a :class:`Claim` whose numbers and verdict come from the data; the
rule that turns numbers into a verdict is stated in ``rule``.
Accuracies are early-stop test accuracies (the test set is read at the
iteration the validation loss chose, never used to choose).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .summary import mean


@dataclass(frozen=True)
class Claim:
    claim: str
    paper: str
    ours: str
    verdict: str
    rule: str

    def row(self) -> dict:
        return {"claim": self.claim, "paper": self.paper, "this book": self.ours, "verdict": self.verdict}


def _level_means(frame: pd.DataFrame, arm: str, column: str) -> pd.Series:
    selected = frame[frame["arm"] == arm]
    return selected.groupby("level")[column].mean()


def _percent(frame: pd.DataFrame, level: int) -> float:
    return float(frame[frame["level"] == level]["percent"].mean())


def smallest_matching_level(frame: pd.DataFrame, arm: str = "ticket") -> int:
    """The deepest level down to which every level's mean accuracy is at least the dense network's."""
    accuracy = _level_means(frame, arm, "early_stop_test_acc")
    dense = accuracy.loc[0]
    deepest = 0
    for level in sorted(accuracy.index):
        if accuracy.loc[level] < dense:
            break
        deepest = level
    return deepest


def tickets_exist_below(frame: pd.DataFrame, bound: float = 20.0) -> Claim:
    level = smallest_matching_level(frame)
    percent = _percent(frame, level)
    verdict = "supported" if percent < bound else "not supported"
    return Claim("winning tickets exist below 10-20 % of the weights", "under 10-20 % (LeNet, Conv-2/4/6)",
                 f"{percent:.1f} % (deepest level at or above dense accuracy)", verdict,
                 f"supported when tickets match the dense accuracy at every level down to under {bound:g} %")


def faster_and_better_at(frame: pd.DataFrame, level: int) -> Claim:
    dense_iter = mean(frame, "early_stop_iteration", arm="ticket", level=0)
    dense_acc = mean(frame, "early_stop_test_acc", arm="ticket", level=0)
    iteration = mean(frame, "early_stop_iteration", arm="ticket", level=level)
    accuracy = mean(frame, "early_stop_test_acc", arm="ticket", level=level)
    sooner = 100 * (1 - iteration / dense_iter)
    gain = 100 * (accuracy - dense_acc)
    verdict = {(True, True): "supported", (True, False): "partly: sooner, not more accurate",
               (False, True): "partly: more accurate, not sooner", (False, False): "not supported"}[
        (sooner > 0, gain > 0)]
    return Claim(f"LeNet tickets at about {_percent(frame, level):.0f} % stop earlier and are more accurate",
                 "38 % sooner and more accurate (LeNet at 21.1 %)",
                 f"{sooner:.0f} % sooner ({iteration:.0f} vs {dense_iter:.0f} iterations), {gain:+.2f} points",
                 verdict, "supported when both the mean early-stop iteration is lower and the mean accuracy higher")


def reinit_loses(frame: pd.DataFrame, level: int) -> Claim:
    ticket_iter = mean(frame, "early_stop_iteration", arm="ticket", level=level)
    ticket_acc = mean(frame, "early_stop_test_acc", arm="ticket", level=level)
    reinit_iter = mean(frame, "early_stop_iteration", arm="reinit", level=level)
    reinit_acc = mean(frame, "early_stop_test_acc", arm="reinit", level=level)
    slower, worse = reinit_iter > ticket_iter, reinit_acc < ticket_acc
    verdict = {(True, True): "supported", (True, False): "partly: slower only",
               (False, True): "partly: less accurate only", (False, False): "not supported"}[(slower, worse)]
    return Claim(f"randomly reinitialised tickets lose both advantages (at {_percent(frame, level):.1f} %)",
                 "reinit learns slower and is less accurate",
                 f"reinit {reinit_iter:.0f} vs ticket {ticket_iter:.0f} iterations; "
                 f"{100 * reinit_acc:.2f} % vs {100 * ticket_acc:.2f} %", verdict,
                 "supported when reinit stops later and is less accurate on average")


def iterative_beats_oneshot(iterative: pd.DataFrame, oneshot: pd.DataFrame) -> Claim:
    deep_iterative = _percent(iterative, smallest_matching_level(iterative))
    deep_oneshot = _percent(oneshot, smallest_matching_level(oneshot))
    verdict = "supported" if deep_iterative < deep_oneshot else "not supported"
    return Claim("iterative pruning finds smaller tickets than one-shot pruning",
                 "iterative tickets match dense at smaller sizes",
                 f"iterative down to {deep_iterative:.1f} %, one-shot down to {deep_oneshot:.1f} %", verdict,
                 "supported when the deepest level matching dense accuracy is smaller for iterative pruning")


def table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([c.row() for c in claims])
