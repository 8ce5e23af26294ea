"""The book's conclusions: each point of the review and each claim of the papers, with the verdicts that answer it.

A :class:`Point` names the sections whose verdicts answer it (keys of the
verdict groups the chapters compute: each chapter's ``verdicts`` in
:mod:`lthlib.analysis.chapters`, e.g. :func:`lthlib.analysis.lottery.verdict_groups`,
which :func:`gather` collects); :func:`point_table` and :func:`overview` show them. The verdicts are
not counted: a count would add up claims of opposite direction, of different levels and of both papers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import chapter, chapters, claims, papers, zhou


@dataclass(frozen=True)
class Point:
    """A point of the review or a paper's claim: what it says, the verdict groups that answer it, the book's
    sections that show them (MyST labels), and what would change the verdicts.

    ``only``: ``((group, kinds), ...)`` keeps, of that group, the claims of one of ``kinds`` (a tuple of
    :attr:`lthlib.analysis.claims.Claim.kind` values).
    """

    point: str
    says: str
    groups: tuple[str, ...]
    sections: tuple[str, ...]
    would_change: str
    only: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self):
        for group, kinds in self.only:
            if isinstance(kinds, str):  # a bare string would match any kind it contains a letter of
                raise TypeError(f"Point {self.point!r}: the kinds of group {group!r} must be a tuple, got {kinds!r}")

    def claims(self, verdicts: dict) -> list:
        """The verdicts that answer this point, in the order of its groups, each comparison once: two chapters
        that judge the same arms of the same runs (the same ``ours``, interval included) count as one."""
        only = dict(self.only)
        chosen = {}
        for group in self.groups:
            for claim in verdicts.get(group, []):
                if group not in only or claim.kind in only[group]:
                    chosen.setdefault(claim.ours, claim)
        return list(chosen.values())


CPU_SCALE = (
    "the paper's scale (MNIST, Conv-2/4/6 on CIFAR-10, full training of the convolutional networks), which a CPU "
    "cannot reach"
)

POINTS = (
    Point(
        "Winning tickets exist",
        "Frankle & Carbin: small subnetworks train to the dense network's accuracy, sooner",
        ("lottery",),
        ("lth-claims",),
        f"more trials (an inconclusive interval is wide at five, and Conv-6 has fewer than the rule accepts) and "
        f"{CPU_SCALE}",
        only=(
            (
                "lottery",
                (
                    "sooner",
                    "more accurate",
                    "back at dense",
                    "fall below dense",
                    "conv sooner",
                    "conv more accurate",
                    "dropout helps",
                ),
            ),
        ),
    ),
    Point(
        "Iterative pruning is the key advance",
        "the review: the most notable advance of the paper",
        ("lottery",),
        ("lth-oneshot", "lth-claims"),
        "a sweep deep enough that one method surely falls below dense where the other still matches",
        only=(("lottery", ("iterative against one-shot",)),),
    ),
    Point(
        "One mask is not enough",
        "the review: the authors propose a single mask m",
        ("zhou criteria", "zhou criteria conv", "one mask"),
        ("zhou-criteria", "zhou-criteria-conv", "review-one-mask"),
        "other networks and datasets, where criteria and data orders may agree more or less",
        only=(("zhou criteria conv", (zhou.AGAINST_RANDOM,)),),
    ),
    Point(
        "Weights change sign",
        "the review: a weight is more likely to change sign than to grow",
        ("signs",),
        ("review-signs",),
        "the count at the paper's training length and on MNIST",
    ),
    Point(
        "Magnitude increase is at least as good",
        "the review, reading Zhou et al.",
        ("zhou criteria", "zhou criteria conv"),
        ("zhou-criteria", "zhou-claims", "zhou-criteria-conv"),
        f"the deeper sparsities of the 24 rounds of Zhou et al.'s code, and {CPU_SCALE}",
        only=(
            ("zhou criteria", ("magnitude_increase against large_final",)),
            ("zhou criteria conv", ("magnitude_increase against large_final",)),
        ),
    ),
    Point(
        "The initial values matter",
        "Frankle & Carbin; Zhou et al.: the signs are what matters",
        ("lottery", "zhou mask-1"),
        ("lth-claims", "zhou-mask1", "zhou-claims"),
        "more trials, and the deeper sizes of Zhou et al.'s sweeps, where the starts separate most",
        only=(
            ("lottery", ("reinit less accurate", "reinit slower", "conv reinit less accurate", "conv reinit slower")),
        ),
    ),
    Point(
        "Zeroing or freezing",
        "the review: neither paper shows which, nor why",
        ("zhou mask-0", "zeros"),
        ("zhou-mask0", "zhou-claims", "review-zeros"),
        "deeper sparsities, where more of the network is frozen rather than zeroed",
    ),
    Point(
        "Choosing a mask is training",
        "both papers, the review says; Zhou et al.'s supermasks",
        ("supermasks", "mask training"),
        ("supermask-init", "supermask-learned", "review-mask-training"),
        f"learned supermasks trained for the {papers.ZHOU_NUMBERS['supermask_epochs']:,} epochs of Zhou et al.'s code "
        "rather than the chapter's shorter run",
    ),
    Point(
        "Fine-tuning",
        "the review: how would these subnetworks respond to fine-tuning?",
        ("fine-tuning",),
        ("review-finetune",),
        "the larger networks and deeper sparsities Renda et al. compare the methods on",
    ),
    Point(
        "Transfer",
        "the review: how would they respond to transfer learning?",
        ("transfer",),
        ("review-transfer",),
        "transfers between different datasets (MNIST as the target needs a download)",
    ),
    Point(
        "Overfitting",
        "the review: tickets may overfit the test or validation sets, in weights and in structure",
        ("overfitting",),
        ("review-overfit",),
        "a larger training set, so that each half is as large as the whole training split here",
    ),
)


def point_table(point: Point, verdicts: dict[str, list[claims.Claim]]) -> pd.DataFrame:
    """The verdicts that answer ``point`` in five columns: claim, paper, this book, n, verdict."""
    found = point.claims(verdicts)
    if not found:
        return pd.DataFrame([{"claim": "not judged here"}])
    return pd.DataFrame([c.brief() for c in found])


def finding(verdicts: dict, group: str, kind: str, percent: float, subject: str = "") -> str:
    """One claim of ``group`` judged level by level (:class:`lthlib.analysis.claims.Judged`) in a phrase: its effect
    and interval at the level nearest ``percent``, and its verdict, e.g. ``"+0.79 [+0.58, +1.00] points at 3.6 %
    (supported)"``. ``subject``: only claims whose words start with it (e.g. ``"Conv-2:"``)."""
    judged = [j for j in verdicts[group] if j.kind == kind and j.claim.says.startswith(subject)]
    if not judged:
        raise KeyError(f"group {group!r} has no judged claim of kind {kind!r} about {subject or 'anything'!r}")
    nearest = min(judged, key=lambda j: abs(j.percent - percent))
    return f"{nearest.difference()} at {nearest.percent:.1f} % ({nearest.verdict})"


def overview(points=POINTS) -> pd.DataFrame:
    """One row per point: what it says and who says it, and what would change the verdicts that answer it."""
    return pd.DataFrame(
        [
            {
                "point": p.point,
                "who says it": p.says,
                "what would change them": p.would_change,
            }
            for p in points
        ]
    )


def gather(**common) -> dict[str, list[claims.Claim]]:
    """Every chapter's verdict groups (the keys :data:`POINTS` names), from each chapter of
    :data:`lthlib.analysis.chapters.CHAPTERS` that has verdicts, opened at its own defaults with ``common``
    (dataset, scale, trials, device, store, allow_train). Every chapter is opened, so its parameters are checked,
    before any of them reads or trains anything."""
    books = [
        (spec, chapter.open(name=spec.name, **common, **dict.fromkeys(spec.parameters)))
        for spec in chapters.CHAPTERS
        if spec.verdicts is not None
    ]
    found = {}
    for spec, book in books:
        found.update(spec.verdicts(book))
    return found
