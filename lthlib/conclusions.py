"""The book's conclusions: each point of the review and each claim of the papers, with the verdicts that answer it.

A :class:`Point` names the sections whose verdicts answer it (keys of the
verdict groups the chapters compute: :func:`lthlib.lottery.verdicts`,
:func:`lthlib.zhou.verdicts`, :func:`lthlib.zhou.supermask_claims`,
:func:`lthlib.review.verdicts`); :func:`table` sets them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import claims, stats


@dataclass(frozen=True)
class Point:
    """A point of the review or a paper's claim: what it says, and the verdict groups that answer it."""

    point: str
    says: str
    groups: tuple[str, ...]


POINTS = (
    Point(
        "Winning tickets exist",
        "Frankle & Carbin: small subnetworks train to the dense network's accuracy, sooner",
        ("lottery",),
    ),
    Point("One mask is not enough", "the review: the authors propose a single mask m", ("zhou criteria", "one mask")),
    Point("Weights change sign", "the review: a weight is more likely to change sign than to grow", ("signs",)),
    Point("Magnitude increase is at least as good", "the review, reading Zhou et al.", ("zhou headline",)),
    Point(
        "The initial values matter",
        "Frankle & Carbin; Zhou et al.: the signs are what matters",
        ("lottery", "zhou mask-1"),
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
        found = [claim for group in point.groups for claim in verdicts.get(group, [])]
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
                "verdicts": _tally([c for group in point.groups for c in verdicts.get(group, [])]) or "not judged",
            }
            for point in points
        ]
    )
