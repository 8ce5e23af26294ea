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
    """A point of the review or a paper's claim: what it says, the verdict groups that answer it, the book's
    sections that show them (MyST labels), and what would change the verdicts.

    ``only``: ``((group, texts), ...)`` keeps, of that group, the claims whose wording contains one of ``texts``
    (a string or a tuple of strings).
    """

    point: str
    says: str
    groups: tuple[str, ...]
    sections: tuple[str, ...]
    would_change: str
    only: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    def claims(self, verdicts: dict) -> list:
        """The verdicts that answer this point, in the order of its groups."""
        only = {group: (texts,) if isinstance(texts, str) else texts for group, texts in self.only}
        return [
            claim
            for group in self.groups
            for claim in verdicts.get(group, [])
            if group not in only or any(text in claim.claim for text in only[group])
        ]


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
        f"more trials (an inconclusive interval is wide at five) and {CPU_SCALE}",
        only=(("lottery", ("winning tickets exist", "stop earlier")),),
    ),
    Point(
        "Iterative pruning is the key advance",
        "the review: the most notable advance of the paper",
        ("lottery",),
        ("lth-oneshot", "lth-claims"),
        "a sweep deep enough that one method surely falls below dense where the other still matches",
        only=(("lottery", "one-shot"),),
    ),
    Point(
        "One mask is not enough",
        "the review: the authors propose a single mask m",
        ("zhou criteria", "one mask"),
        ("zhou-criteria", "review-one-mask"),
        "other networks and datasets, where criteria and data orders may agree more or less",
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
        ("zhou headline",),
        ("zhou-criteria", "zhou-claims"),
        f"the deeper sparsities of the paper's 24 rounds, where criteria separate, and {CPU_SCALE}",
        only=(("zhou headline", "magnitude_increase"),),
    ),
    Point(
        "The initial values matter",
        "Frankle & Carbin; Zhou et al.: the signs are what matters",
        ("lottery", "zhou mask-1"),
        ("lth-claims", "zhou-mask1"),
        "a training length where the reinitialised controls stop well inside training at every level",
        only=(("lottery", "reinitialised"),),
    ),
    Point(
        "Zeroing or freezing",
        "the review: neither paper shows which, nor why",
        ("zhou mask-0", "zeros"),
        ("zhou-mask0", "review-zeros"),
        "deeper sparsities, where more of the network is frozen rather than zeroed",
    ),
    Point(
        "Choosing a mask is training",
        "both papers, the review says; Zhou et al.'s supermasks",
        ("supermasks",),
        ("supermasks-init", "supermasks-learned", "review-mask-training"),
        "learned supermasks trained for the paper's 2,000 epochs rather than the chapter's shorter run",
    ),
    Point(
        "Fine-tuning",
        "the review: how would these subnetworks respond to fine-tuning?",
        ("fine-tuning",),
        ("review-finetune",),
        "deeper networks, where Renda et al. find rewinding and fine-tuning differ most",
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
        "larger halves of the data (each half here is a quarter of the paper's training set or less)",
    ),
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
            rows.append({"point": point.point, "claim": "not judged here", "this book": "", "n": "", "verdict": ""})
            continue
        for index, claim in enumerate(found):
            rows.append(
                {
                    "point": point.point if index == 0 else "",
                    "claim": claim.claim,
                    "this book": claim.ours,
                    "n": claim.n,
                    "verdict": claim.verdict,
                }
            )
    return pd.DataFrame(rows)


def point_table(point: Point, verdicts: dict[str, list[claims.Claim]]) -> pd.DataFrame:
    """The verdicts that answer ``point``, as the chapters show them (claim, paper, this book, n, verdict)."""
    found = point.claims(verdicts)
    return claims.table(found) if found else pd.DataFrame([{"claim": "not judged here"}])


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
        **review.verdicts(answers := review.results(questions), review.overlaps(questions, answers)),
    }
