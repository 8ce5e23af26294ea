"""The book's conclusions: each point of the review and each claim of the papers, with the verdicts that answer it.

A :class:`Point` names the sections whose verdicts answer it (keys of the
verdict groups the chapters compute: :func:`lthlib.lottery.verdicts`,
:func:`lthlib.zhou.verdicts`, :func:`lthlib.zhou.supermask_claims`,
:func:`lthlib.review.verdicts`); :func:`table` sets them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import chapter, claims, lottery, review, stats, zhou


@dataclass(frozen=True)
class Point:
    """A point of the review or a paper's claim: what it says, and the verdict groups that answer it.

    ``only``: ``((group, text), ...)`` keeps, of that group, the claims whose wording contains ``text``.
    """

    point: str
    says: str
    groups: tuple[str, ...]
    only: tuple[tuple[str, str], ...] = ()

    def claims(self, verdicts: dict) -> list:
        """The verdicts that answer this point, in the order of its groups."""
        only = dict(self.only)
        return [
            claim
            for group in self.groups
            for claim in verdicts.get(group, [])
            if group not in only or only[group] in claim.claim
        ]


POINTS = (
    Point(
        "Winning tickets exist",
        "Frankle & Carbin: small subnetworks train to the dense network's accuracy, sooner",
        ("lottery",),
    ),
    Point("One mask is not enough", "the review: the authors propose a single mask m", ("zhou criteria", "one mask")),
    Point("Weights change sign", "the review: a weight is more likely to change sign than to grow", ("signs",)),
    Point(
        "Magnitude increase is at least as good",
        "the review, reading Zhou et al.",
        ("zhou headline",),
        only=(("zhou headline", "magnitude_increase"),),
    ),
    Point(
        "The initial values matter",
        "Frankle & Carbin; Zhou et al.: the signs are what matters",
        ("lottery", "zhou mask-1"),
        only=(("lottery", "reinitialised"),),
    ),
    Point("Zeroing or freezing", "the review: neither paper shows which, nor why", ("zhou mask-0", "zeros")),
    Point("Choosing a mask is training", "both papers, the review says; Zhou et al.'s supermasks", ("supermasks",)),
    Point("Fine-tuning", "the review: how would these subnetworks respond to fine-tuning?", ("fine-tuning",)),
    Point("Transfer", "the review: how would they respond to transfer learning?", ("transfer",)),
    Point("Overfitting", "the review: tickets may overfit, in weights and in structure", ("overfitting",)),
)


def _tally(found: list[claims.Claim]) -> str:
    counts = {verdict: 0 for verdict in (stats.SUPPORTED, stats.NOT_SUPPORTED, stats.INCONCLUSIVE)}
    for claim in found:
        counts[claim.verdict.split(":")[0]] += 1
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)


def table(points, verdicts: dict[str, list[claims.Claim]]) -> pd.DataFrame:
    """One row per verdict that answers a point (the point's name on its first row), and a row for a point whose
    groups were not computed. ``verdicts``: ``{group: claims}``."""
    rows = []
    for point in points:
        found = point.claims(verdicts)
        if not found:
            rows.append({"point": point.point, "who says it": point.says, "claim": "not judged here", "verdict": ""})
            continue
        for index, claim in enumerate(found):
            rows.append(
                {
                    "point": point.point if index == 0 else "",
                    "who says it": point.says if index == 0 else "",
                    "claim": claim.claim,
                    "verdict": claim.verdict,
                }
            )
    return pd.DataFrame(rows)


def summary(points, verdicts: dict[str, list[claims.Claim]]) -> pd.DataFrame:
    """One row per point: how many of its verdicts are supported, not supported and inconclusive."""
    return pd.DataFrame(
        [
            {
                "point": point.point,
                "verdicts": _tally(point.claims(verdicts)) or "not judged",
            }
            for point in points
        ]
    )


def gather(**common) -> dict[str, list[claims.Claim]]:
    """Every chapter's verdict groups, each chapter opened at its own defaults with ``common`` (dataset, scale,
    device, store, allow_train): the keys :data:`POINTS` names."""
    unset = dict.fromkeys  # a chapter's knobs, left at None: its defaults
    lenet = unset(("iterations", "eval_every", "levels"))
    tickets = chapter.open(
        name="lottery-ticket", **common, **lenet, **unset(("rewind", "extra_trials", "extra_levels")), conv_runs=""
    )
    deconstructing = chapter.open(
        name="deconstructing",
        **common,
        **lenet,
        **unset(("action_levels", "criteria", "mask1_actions", "mask0_actions")),
    )
    supermasks = chapter.open(
        name="supermasks",
        **common,
        **lenet,
        **unset(("criteria", "supermask_methods", "supermask_starts", "supermask_iterations", "supermask_eval_every")),
    )
    questions = chapter.open(
        name="review",
        **common,
        **lenet,
        **unset(("action_levels", "transfer_source", "transfer_target", "shift_target")),
    )
    found = zhou.results(deconstructing)
    sections = zhou.verdicts(found, deconstructing.parameters.action_levels)
    init = zhou.at_init(zhou.frame(zhou.results(supermasks, groups=("untrained",))["untrained"]))
    learned = zhou.learned_frame(zhou.learned_results(supermasks))
    return {
        "lottery": lottery.verdicts(lottery.results(tickets)),
        "zhou criteria": sections["criteria"],
        "zhou mask-1": sections["mask1"],
        "zhou mask-0": sections["mask0"],
        "zhou headline": sections["headline"],
        "supermasks": zhou.supermask_claims(init, learned),
        **review.verdicts(review.results(questions)),
    }
