"""The book's chapters, one entry each: what a chapter notebook needs, and what it gives the conclusions.

A :class:`ChapterSpec` is a chapter of ``_toc.yml`` (its notebook ``book/<name>.ipynb``): the parameters of its
``parameters`` cell beyond the common ones (:data:`lthlib.analysis.parameters.COMMON`), their defaults where the
chapter's differ from the scale's (:data:`lthlib.analysis.parameters.SCALE_DEFAULTS`), the checks of its
parameters together (:mod:`lthlib.analysis.checks`), the paper its settings box stands beside, and the function
that gives its verdicts by the groups :data:`lthlib.analysis.conclusions.POINTS` names (each chapter's module has
one: :func:`lthlib.analysis.lottery.verdict_groups`, ...). :func:`lthlib.analysis.chapter.open` opens a chapter by
its entry, :func:`lthlib.analysis.conclusions.gather` opens every chapter that has verdicts at its own defaults,
and ``python -m lthlib chapter`` names the chapters from :data:`CHAPTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import checks, lottery, papers, review, supermasks, transfer, zhou
from .parameters import CHECKS, CONV_FIELDS, SCALE_DEFAULTS


@dataclass(frozen=True)
class ChapterSpec:
    """One chapter: its name (``None`` for a chapter opened without one), its own parameters (names in
    :data:`lthlib.analysis.parameters.CHECKS`, in the order of its notebook's ``parameters`` cell), ``defaults``
    (``{scale: {parameter: value}}`` where its own differ from the scale's), the ``checks`` of its parameters
    together (in the order of :data:`lthlib.analysis.checks.ALL`), its ``paper`` (the name and the settings its
    settings box stands beside) and ``verdicts`` (``book -> {group: claims}``; ``None`` where it has none)."""

    name: str | None
    parameters: tuple[str, ...] = ()
    checks: tuple[Callable, ...] = ()
    defaults: dict = field(default_factory=dict)
    paper: tuple[str, dict] = ("Frankle & Carbin", papers.PAPER_BOX)
    verdicts: Callable | None = None

    def scale_defaults(self, scale: str) -> dict:
        """What each parameter left at ``None`` becomes at ``scale``: the chapter's own defaults, then the scale's."""
        return {**SCALE_DEFAULTS[scale], **self.defaults.get(scale, {})}


LENET = ("iterations", "eval_every", "levels")  # the main network's runs
CONV = tuple(CONV_FIELDS)  # the convolutional runs' settings
SUPERMASK = ("supermask_methods", "supermask_starts", "supermask_iterations", "supermask_eval_every")

# The Zhou et al. chapters train LeNet-300-100 for 15,000 iterations at scale book (long enough for the slow
# criteria to stop early well inside training) and prune 10 rounds, so that ten criteria and eight actions fit a few
# CPU-hours.
ZHOU_DEFAULTS = {"smoke": {}, "book": dict(iterations=15_000, eval_every=250, levels=10), "paper": {}}
# The deconstructing chapter also runs criteria on Conv-2 at the Lottery Ticket chapter's convolutional scale,
# three rounds deep (about half of its weights left): five of the nine, since each costs a Conv-2 sweep of 5 trials
# (over an hour of CPU time each with bfloat16 products on a CPU with matrix units; many times that without them).
CONV_CRITERIA_BOOK = "large_final,small_final,magnitude_increase,movement,random"
ZHOU = ("Zhou et al.", papers.ZHOU_BOX)

CHAPTERS = (
    ChapterSpec(
        "foundations",
        parameters=("iterations", "eval_every", "probe_run", "conv_network", *(c for c in CONV if c != "conv_levels")),
        checks=(checks.lenet_settings_fit, checks.conv_runs_fit),
    ),
    ChapterSpec(
        "lottery-ticket",
        parameters=(*LENET, "rewind", "extra_trials", "extra_levels", "short_run", "conv_runs", *CONV),
        checks=(
            checks.lenet_settings_fit,
            checks.rewind_within_training,
            checks.extra_levels_within,
            checks.conv_runs_fit,
        ),
        verdicts=lottery.verdict_groups,
    ),
    ChapterSpec(
        "deconstructing",
        parameters=(
            "network",
            *LENET,
            "action_levels",
            "criteria",
            "mask1_actions",
            "mask0_actions",
            "criteria_conv",
            "conv_criteria",
            *CONV,
        ),
        checks=(
            checks.network_needs_images,
            checks.lenet_settings_fit,
            checks.actions_need_large_final,
            checks.criteria_include_random,
            checks.joint_sweeps_fit,
            checks.conv_runs_fit,
        ),
        defaults={
            **ZHOU_DEFAULTS,
            "book": {
                **ZHOU_DEFAULTS["book"],
                "criteria_conv": "conv2",
                "conv_levels": 3,
                "conv_criteria": CONV_CRITERIA_BOOK,
            },
        },
        paper=ZHOU,
        verdicts=zhou.verdict_groups,
    ),
    ChapterSpec(
        "supermasks",
        parameters=("network", *LENET, "criteria", *SUPERMASK),
        checks=(checks.network_needs_images, checks.lenet_settings_fit, checks.joint_sweeps_fit),
        defaults=ZHOU_DEFAULTS,
        paper=("Zhou et al.", papers.SUPERMASK_BOX),
        verdicts=supermasks.verdict_groups,
    ),
    ChapterSpec(
        "review",
        parameters=(*LENET, "action_levels", *SUPERMASK),
        checks=(checks.lenet_settings_fit, checks.action_levels_within),
        defaults=ZHOU_DEFAULTS,
        paper=ZHOU,  # the review's runs extend theirs
        verdicts=review.verdict_groups,
    ),
    ChapterSpec(
        "transfer",
        parameters=(*LENET, "action_levels", "transfer_source", "transfer_target", "shift_target"),
        checks=(checks.lenet_settings_fit, checks.action_levels_within, checks.transfers_fit),
        defaults=ZHOU_DEFAULTS,
        paper=ZHOU,
        verdicts=transfer.verdict_groups,
    ),
    ChapterSpec("conclusions"),  # the verdicts of the others (lthlib.analysis.conclusions.gather)
)

# A chapter opened without a name: any parameter, every check (each passes where its parameters are missing).
UNNAMED = ChapterSpec(None, parameters=tuple(name for name in CHECKS if name != "trials"), checks=checks.ALL)

BY_NAME = {spec.name: spec for spec in CHAPTERS}

# The chapters whose main sweeps can run on another network than LeNet-300-100 (parameter ``network``).
NETWORK_CHAPTERS = tuple(spec.name for spec in CHAPTERS if "network" in spec.parameters)


def names() -> list[str]:
    """Every chapter's name, in the book's order."""
    return [spec.name for spec in CHAPTERS]


def find(name: str | None) -> ChapterSpec:
    """The entry of chapter ``name`` (:data:`UNNAMED` for ``None``); ``KeyError`` for an unknown name."""
    return UNNAMED if name is None else BY_NAME[name]
