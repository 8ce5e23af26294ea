"""The review's open questions on data, answered by the book's own experiments: transfer and overfitting.

The chapter ``transfer`` asks them; its runs (:func:`sweeps`) are LeNet-300-100 at the chapter's settings, as
those of the chapter ``review`` (:mod:`lthlib.analysis.review`, whose large_final tickets and controls both chapters
read), as config fields:

- ``ticket``, ``controls``: the Zhou chapters' large_final tickets, and the same with every control;
- ``transfer`` / ``target``: masks found on ``transfer_source`` trained on
  ``transfer_target``, and the target's own sweep with its controls; ``shift`` /
  ``shift_target`` the same from the chapter's dataset to ``shift_target``;
- ``halves``: masks of each half of the training set trained on the other.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from . import claims, review, stats, summary

HALVES = ("half=a", "half=b")


def sweeps(book) -> dict[str, dict]:
    """``{name: config fields}`` of every run the chapter ``transfer`` reads (see the module's list)."""
    p, lenet, shorter, base = book.parameters, review.lenet_fields(book), review.shorter_fields(book), book.dataset
    controls = ("random_prune",)  # what the transfer verdicts compare with, besides the target's own tickets
    found = {
        **review.shared_sweeps(book),
        "transfer": {"experiment": "transfer", "dataset": p.transfer_target, "mask_from": p.transfer_source, **shorter},
        "target": {"experiment": "imp", "dataset": p.transfer_target, "controls": controls, **shorter},
    }
    if not shift_skipped(book):
        found["shift"] = {"experiment": "transfer", "dataset": p.shift_target, "mask_from": base, **lenet}
        found["shift_target"] = {"experiment": "imp", "dataset": p.shift_target, "controls": controls, **lenet}
    for mine, theirs in (HALVES, HALVES[::-1]):
        found[f"{mine} from {theirs}"] = {
            "experiment": "transfer",
            "dataset": f"{base}:{mine}",
            "mask_from": f"{base}:{theirs}",
            **shorter,
        }
        found[f"{mine} own"] = {**review.IMP, "dataset": f"{base}:{mine}", **shorter}
    return found


def shift_skipped(book) -> str | None:
    """Why the chapter ``transfer`` moves no mask to shifted images (a sentence), or ``None`` when it does: the
    parameter ``shift_target`` is empty, or it is the default rotation and the dataset has no images."""
    if not book.parameters.shift_target:
        return "The move to shifted images is skipped: the parameter shift_target is empty."
    if book.images or "shift_target" in book.given:
        return None
    return f"The move to shifted images is skipped: it rotates images, and {book.dataset} has none."


def results(book) -> dict[str, dict]:
    """``{name: record}`` for :func:`sweeps`: the iterative sweeps that can train together do, the others alone."""
    return review.read(book, sweeps(book))


# ---------------------------------------------------------------- 6. overfitting


def halves_frame(found: dict) -> pd.DataFrame:
    """Each half's runs: its own masks (arm ``own``) and the other half's (arm ``other half``), labelled by half."""
    frames = []
    for mine, theirs in (HALVES, HALVES[::-1]):
        own = summary.runs_frame(found[f"{mine} own"]).assign(half=mine)
        other = summary.runs_frame(found[f"{mine} from {theirs}"]).assign(half=mine)
        frames += [own.assign(arm="own"), other[other["level"] > 0].assign(arm="other half")]
    return summary.concat(frames)


def _own_and_other(halves: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per trial (index) and arm (``own``, ``other half``: columns), ``column`` averaged over the pruned levels and
    both halves."""
    pruned = halves[halves["level"] > 0].assign(**{column: lambda f: f[column].astype(float)})
    per_half = [
        rows.pivot_table(index="trial", columns="arm", values=column, aggfunc="mean")
        for _, rows in pruned.groupby("half", sort=False)
    ]
    return pd.concat(per_half).groupby(level=0).mean()


def _own_minus_other(halves: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Per trial (the trials every column has), own minus other half's mask for each of ``columns``, and whether
    the runs compared mostly stopped at their last evaluation (``own_at_end``, ``other_at_end``)."""
    parts = {column: _own_and_other(halves, column) for column in columns}
    ends = _own_and_other(halves, "stopped_at_last_evaluation") > 0.5
    frame = pd.DataFrame({column: part["own"] - part["other half"] for column, part in parts.items()})
    frame = frame.assign(own_at_end=ends["own"], other_at_end=ends["other half"])
    return frame.dropna()


def own_half_advantage(halves: pd.DataFrame) -> claims.Claim:
    """Whether a mask does better, on the test set, when trained on the half it was found on than the other
    half's mask does there: the mask carries something of its own data."""
    both = _own_minus_other(halves, claims.ACCURACY)
    difference = stats.paired(both[claims.ACCURACY], [0.0] * len(both), both["own_at_end"], both["other_at_end"])
    return claims.Claim(
        "a mask trained on the half of the data it was found on beats the other half's mask there",
        "neither paper tests it",
        f"own minus other half's mask, test accuracy: {difference.text(100, ' points')}",
        difference.n,
        claims.with_reason(difference.verdict(), difference),
        "per trial, test accuracy at early stop averaged over the pruned levels and both halves; supported when "
        "the 95 % interval of own minus other lies above 0, not supported when below, else inconclusive",
        kind="own half more accurate",
    )


def own_half_stops_sooner(halves: pd.DataFrame) -> claims.Claim:
    """Whether a mask, trained on the half it was found on, reaches its lowest validation loss sooner than the
    other half's mask does there."""
    both = _own_minus_other(halves, claims.ITERATION)
    difference = stats.paired([0.0] * len(both), both[claims.ITERATION], both["own_at_end"], both["other_at_end"])
    return claims.Claim(
        "a mask trained on the half of the data it was found on stops sooner than the other half's mask there",
        "neither paper tests it",
        f"other half's mask minus own, early-stop iteration: {difference.text(1, ' iterations', digits=0)}",
        difference.n,
        claims.with_reason(difference.verdict(), difference),
        "per trial, the early-stop iteration averaged over the pruned levels and both halves; supported when the "
        "95 % interval of other minus own lies above 0, not supported when below, else inconclusive",
        kind="own half sooner",
    )


def structure_overfits(halves: pd.DataFrame) -> claims.Claim:
    """Whether a mask's advantage on its own half shows on that half's training batches more than on the test
    set: structure fitted to the data it was found on that does not carry over to unseen images."""
    both = _own_minus_other(halves, "early_stop_train_acc", claims.ACCURACY)
    difference = stats.paired(
        both["early_stop_train_acc"], both[claims.ACCURACY], both["own_at_end"], both["other_at_end"]
    )
    return claims.Claim(
        "a mask's advantage on its own half is larger on the training batches than on the test set (it overfits "
        "in structure)",
        "the review's worry; neither paper tests it",
        f"own-mask advantage, training batches minus test: {difference.text(100, ' points')}",
        difference.n,
        claims.with_reason(difference.verdict(), difference),
        "per trial, the own-minus-other difference in accuracy on the training batches before the early stop, "
        "minus the same difference in test accuracy, averaged over the pruned levels and both halves; supported "
        "when its 95 % interval lies above 0, not supported when below, else inconclusive",
        kind="overfits in structure",
    )


def generalisation_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``gap``: accuracy on the training batches before the early stop minus test accuracy there."""
    return frame.assign(gap=frame["early_stop_train_acc"] - frame["early_stop_test_acc"])


def gap_claims(frame: pd.DataFrame) -> list[claims.Claim]:
    """Do tickets generalise better than their controls? Per trial, the generalisation gap of
    :func:`generalisation_gap` averaged over the pruned levels: the ticket's against each control's."""
    gaps = generalisation_gap(frame)
    levels = sorted(set(gaps.loc[gaps["level"] > 0, "level"]))

    found = []
    for control in ("reinit", "random_prune"):
        if not {"ticket", control} <= set(gaps["arm"]):
            continue
        ticket, other = (claims.over_levels(gaps, arm, levels, "gap") for arm in ("ticket", control))
        if ticket.index.intersection(other.index).empty:
            continue
        difference = claims.compare(other, ticket, "gap")
        found.append(
            claims.Claim(
                f"tickets generalise better than {claims.CONTROLS_BEATEN[control]}: a smaller gap between accuracy "
                f"on the training batches and on the test set",
                review.NOT_STATED,
                f"{control}'s gap minus the ticket's: {difference.text(100, ' points')}",
                difference.n,
                claims.with_reason(difference.verdict(), difference),
                "per trial, training-batch accuracy (the running mean over the steps before the early stop, so "
                "partly a matter of when each run stopped) minus test accuracy there, averaged over the pruned "
                f"levels; supported when the 95 % interval of {control}'s gap minus the ticket's lies above 0, not "
                "supported when below, else inconclusive",
                kind=f"generalises better than {control}",
            )
        )
    return found


# The optimisms of a chosen stop (test-set accuracy points): each a difference per run.
LEAKS = {
    "stop chosen on test: gain (points)": lambda runs: runs["best_test_acc"] - runs["early_stop_test_acc"],
    "validation minus test at the stop (points)": lambda runs: runs["early_stop_val_acc"] - runs["early_stop_test_acc"],
    "validation minus test at the last evaluation (points)": lambda runs: (
        runs["final_val_acc"] - runs["final_test_acc"]
    ),
}


def test_set_leak(frame: pd.DataFrame) -> pd.DataFrame:
    """Per arm, over trials (each trial's runs averaged over the pruned levels), mean and 95 % interval in points of
    the differences of :data:`LEAKS`: how much choosing the stop on the test set would flatter the test accuracy;
    how far the validation accuracy at the stop the validation loss chose lies above the test accuracy there; and
    the same at the last evaluation, which nothing chose (the part of the second that selection does not
    explain)."""
    pruned = summary.distinct(frame[frame["level"] > 0])
    rows = []
    for arm, runs in pruned.groupby("arm", sort=False):
        per_trial = runs.assign(**{name: leak(runs) for name, leak in LEAKS.items()}).groupby("trial")[list(LEAKS)]
        means = per_trial.mean()
        zeros = np.zeros(len(means))
        rows.append(
            {
                "arm": arm,
                "trials": len(means),
                **{name: stats.paired(means[name].to_numpy(), zeros).text(100) for name in LEAKS},
            }
        )
    return pd.DataFrame(rows)


# The chapter's transfers: (the transferred run, the target's own sweep, the words the verdicts name it by).
TRANSFERS = (("transfer", "target", "other classes"), ("shift", "shift_target", "shifted images"))


def transfer_frame(target: dict, transferred: dict) -> pd.DataFrame:
    """The target's own sweep (ticket, random pruning, dense) and the transferred masks, one frame."""
    moved = summary.runs_frame(transferred)
    return summary.concat([summary.runs_frame(target), moved[moved["level"] > 0]])


def stops_sooner(frame: pd.DataFrame, ahead: str, behind: str, claim: str, paper: str) -> claims.Claim:
    """Whether ``ahead``'s runs reach their lowest validation loss sooner than ``behind``'s: per trial, the
    early-stop iteration averaged over the pruned levels, ``behind`` minus ``ahead``."""
    levels = sorted(set(frame.loc[frame["level"] > 0, "level"]))
    column = "early_stop_iteration"
    per_arm = [claims.over_levels(frame, arm, levels, column) for arm in (behind, ahead)]
    difference = claims.compare(*per_arm, column)
    return claims.Claim(
        claim,
        paper,
        f"{behind} minus {ahead}, early-stop iteration: {difference.text(1, ' iterations', digits=0)}",
        difference.n,
        claims.with_reason(difference.verdict(), difference),
        f"per trial, the early-stop iteration averaged over the pruned levels; supported when the 95 % interval of "
        f"{behind} minus {ahead} lies above 0, not supported when below, else inconclusive",
        kind=f"{ahead} sooner than {behind}",
    )


def transfer_claims(frame: pd.DataFrame, where: str) -> list[claims.Claim]:
    """Whether tickets found on another task help on the target (``where`` names the pair in the claim): first
    whether the target's own tickets beat random masks there at all, in accuracy and in speed, then the same for
    the transferred masks, and whether these are as good and as fast as the target's own."""
    own, moved, as_good = claims.arms_ahead(
        frame,
        [
            (
                "ticket",
                "random_prune",
                f"on the target, its own tickets beat random masks ({where})",
                "Frankle & Carbin: yes, on the data the masks are found on",
                False,
            ),
            (
                "transferred",
                "random_prune",
                f"a ticket's mask found on another task beats a random mask ({where})",
                "not tested",
                False,
            ),
            ("transferred", "ticket", f"it is as good as a ticket found on the target ({where})", "not tested", True),
        ],
    )
    if own.verdict != stats.SUPPORTED:  # matching a ticket no better than a random mask shows nothing
        as_good = dataclasses.replace(
            as_good,
            verdict=f"{stats.INCONCLUSIVE}: the target's own tickets do not beat random masks there",
            rule=f"{as_good.rule}; inconclusive whatever the interval when the target's own tickets do not beat "
            "random masks by accuracy",
        )
    speed = [
        stops_sooner(frame, ahead, behind, claim, paper)
        for ahead, behind, claim, paper in (
            (
                "ticket",
                "random_prune",
                f"on the target, its own tickets stop sooner than random masks ({where})",
                "Frankle & Carbin: yes",
            ),
            (
                "transferred",
                "random_prune",
                f"a mask found on another task stops sooner than a random mask ({where})",
                "not tested",
            ),
            (
                "ticket",
                "transferred",
                f"the target's own tickets stop sooner than masks found on another task ({where})",
                "not tested",
            ),
        )
    ]
    return [own, moved, as_good, *speed]


def data_verdicts(found: dict) -> dict[str, list[claims.Claim]]:
    """The verdicts of the chapter ``transfer`` by question: transfer, overfitting."""
    halves = halves_frame(found)
    return {
        "transfer": [
            claim
            for source, target, where in TRANSFERS
            if source in found
            for claim in transfer_claims(transfer_frame(found[target], found[source]), where)
        ],
        "overfitting": [own_half_advantage(halves), own_half_stops_sooner(halves), structure_overfits(halves)]
        + gap_claims(summary.runs_frame(found["controls"])),
    }


def verdict_groups(book) -> dict[str, list[claims.Claim]]:
    """The chapter ``transfer``'s verdicts by the groups the conclusions name
    (:data:`lthlib.analysis.conclusions.POINTS`): :func:`data_verdicts` of its runs."""
    return data_verdicts(results(book))
