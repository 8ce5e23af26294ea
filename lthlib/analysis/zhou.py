"""The sweeps of the Zhou et al. chapters, asked of the store together, and their results as frames.

Every sweep but the untrained masks is iterative pruning of the chapter's
network (``book.main_network``: LeNet-300-100 unless the parameter
``network`` names another; kept weights reset to θ0 after each round) that differs from the others only
in its mask criterion, its mask-1 action (what kept weights start from) or its
mask-0 action (what pruned weights become), so all of them train as one batched run: one dense
level, then each round's levels of every sweep as one cohort
(:func:`lthlib.engine.joint.compute_together`). The two chapters ask for the
same group, so either one finds the other's results.

Groups (each ``{label: config fields}``):

- ``criteria``: each chosen criterion, original values, pruned weights at zero;
- ``untrained``: Zhou et al.'s supermasks at initialisation, each criterion
  and ``large_final_same_sign``, with original values and with signed
  constants: masks pruned one-shot from the trained dense networks and
  evaluated on the untrained ones (experiment ``untrained``), as in their
  code;
- ``mask1``: each chosen mask-1 action on the large_final mask;
- ``mask0``: each chosen mask-0 action on the large_final mask;
- ``conv_criteria``: each criterion named by the parameter ``conv_criteria`` on the convolutional network
  ``criteria_conv`` (if any), at the ``conv_*`` settings.

The mask-1 and mask-0 sweeps prune ``action_levels`` rounds; their reference
(original values, pruned weights at zero) is the large_final criterion sweep.

This module reads the deconstructing chapter's sweeps and judges them (criteria,
mask-1 and mask-0 actions); :mod:`lthlib.analysis.supermasks` reads the
supermask chapter's: the untrained masks of these sweeps and the learned
supermasks.
"""

from __future__ import annotations

import pandas as pd

from ..engine import models
from . import claims, hypotheses, summary

# What each criterion keeps, layer by layer among the weights still alive (w_i: initial value, w_f: trained).
CRITERION_RULES = {
    "large_final": "the largest |w_f| (Frankle & Carbin's rule)",
    "small_final": "the smallest |w_f|",
    "large_init": "the largest |w_i|",
    "small_init": "the smallest |w_i|",
    "large_init_large_final": "those whose |w_i| and |w_f| are both above the same percentile of their layer",
    "small_init_small_final": "those whose |w_i| and |w_f| are both below the same percentile of their layer",
    "magnitude_increase": "the largest |w_f| - |w_i|",
    "movement": "the largest |w_f - w_i|",
    "random": "a seeded random choice",
    "large_final_same_sign": "the largest |w_f| among the weights whose sign did not change",
}

# What each action sets: the kept weights' starting values (mask-1), the pruned weights' values (mask-0).
ACTION_RULES = {
    "original": "their initial values w_i (the ticket)",
    "reinit": "the whole layer's initial values, permuted across the layer",
    "reshuffle": "the kept weights' initial values, permuted among them",
    "signed_reinit": "reinit's magnitudes with the original signs",
    "signed_reshuffle": "reshuffle's magnitudes with the original signs",
    "signed_constant": "the layer's initial standard deviation, with the original signs",
    "rand_signed_constant": "the same constant, with random signs",
    "zero": "zero, for good (the ticket)",
    "freeze_init": "frozen at w_i, never trained",
    "freeze_init_zero_mask": "zero if they moved toward zero in training (|w_f| < |w_i|), else frozen at w_i",
    "freeze_init_zero_away": "zero if they moved away from zero in training, else frozen at w_i",
    "freeze_final": "frozen at w_f, where training left them",
}

REFERENCE = "large_final"
CONSTANT_SUFFIX = ", signed constant"  # the untrained masks' label with signed constants


def names_in(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _main_sweep(book) -> dict:
    """The fields every sweep of the chapters shares: iterative pruning of the chapter's network, no controls."""
    return dict(experiment="imp", network=book.main_network, controls=(), **book.lenet_settings())


def reference_fields(book) -> dict:
    """The fields of the large_final sweep (the lottery ticket's own criterion) that the learned supermasks are set
    against: its dense networks and its tickets share their θ0 trial by trial."""
    return {**_main_sweep(book), "criterion": REFERENCE}


def sweeps(book) -> dict[str, dict[str, dict]]:
    """``{group: {label: fields}}``: the config fields of every sweep the chapters use (see the module's groups)."""
    p = book.parameters
    main = _main_sweep(book)
    actions = {**main, "criterion": REFERENCE, "levels": getattr(p, "action_levels", None) or main.get("levels")}
    if actions["levels"] is None:
        del actions["levels"]
    return {
        "criteria": {name: {**main, "criterion": name} for name in names_in(p.criteria)},
        "untrained": {
            name + CONSTANT_SUFFIX if start == "signed_constant" else name: {
                **main,
                "experiment": "untrained",
                "criterion": name,
                "mask1": start,
            }
            for name in (*names_in(p.criteria), "large_final_same_sign")
            for start in ("original", "signed_constant")
        },
        "mask1": {name: {**actions, "mask1": name} for name in names_in(getattr(p, "mask1_actions", ""))},
        "mask0": {name: {**actions, "mask0": name} for name in names_in(getattr(p, "mask0_actions", ""))},
        "conv_criteria": {
            name: dict(experiment="imp", network=p.criteria_conv, controls=(), criterion=name, **book.conv_settings())
            for name in (
                names_in(p.conv_criteria)
                if book.images and getattr(p, "criteria_conv", "") not in ("", book.main_network)
                else []
            )
        },
    }


def results(book, groups=("criteria", "mask1", "mask0", "conv_criteria")) -> dict[str, dict[str, dict]]:
    """``{group: {label: record}}`` for those ``groups`` of :func:`sweeps`, read from the store or trained together
    (the LeNet sweeps as one run, the convolutional network's as another; the untrained masks one by one, their
    dense networks trained once)."""
    groups = {group: members for group, members in sweeps(book).items() if group in groups}
    flat = [(group, label, fields) for group, members in groups.items() for label, fields in members.items()]
    found = {group: {} for group in groups}
    iterative = [entry for entry in flat if entry[2]["experiment"] == "imp"]
    for network in dict.fromkeys(fields["network"] for _, _, fields in iterative):
        mine = [entry for entry in iterative if entry[2]["network"] == network]
        for (group, label, _), record in zip(mine, book.results_together(*(fields for _, _, fields in mine))):
            found[group][label] = record
    for group, label, fields in flat:
        if fields["experiment"] != "imp":
            found[group][label] = book.result(**fields)
    return found


def frame(records: dict[str, dict], levels: int | None = None) -> pd.DataFrame:
    """One row per run of every record, its ``arm`` the record's label; only levels up to ``levels`` if given."""
    combined = summary.combine({label: summary.runs_frame(record) for label, record in records.items()})
    return combined if levels is None else combined[combined["level"] <= levels].reset_index(drop=True)


def with_reference(found: dict[str, dict[str, dict]], group: str, label: str) -> dict[str, dict]:
    """The records of ``group`` (mask1 or mask0) after the large_final sweep, labelled ``label`` (original, zero)."""
    return {label: found["criteria"][REFERENCE], **found[group]}


def rules_table(names, rules: dict[str, str], heading: str) -> pd.DataFrame:
    """``names`` and what each keeps or sets (from ``rules``), a table with columns ``heading`` and its rule."""
    return pd.DataFrame([{heading: name, "rule": rules[name]} for name in names])


def pruned_levels(frame: pd.DataFrame) -> list[int]:
    return sorted(set(frame.loc[frame["level"] > 0, "level"]))


def stops_at_deepest(frame: pd.DataFrame) -> str:
    """One sentence: the dense network's mean early-stop iteration and, at the deepest level of ``frame``, each
    arm's (mean over the trials, earliest first). Iterations are optimiser steps."""
    deepest = frame["level"].max()
    at = frame[frame["level"] == deepest]
    dense = frame.loc[frame["level"] == 0].drop_duplicates("trial")["early_stop_iteration"].mean()
    means = at.groupby("arm", sort=False)["early_stop_iteration"].mean().sort_values(kind="stable")
    listed = "; ".join(f"{arm} {value:,.0f}" for arm, value in means.items())
    return (
        f"On average over the trials, the dense network reaches its lowest validation loss at iteration "
        f"{dense:,.0f}; at the deepest level ({at['percent'].mean():.1f} % of the weights), the tickets of each "
        f"arm reach theirs at: {listed}."
    )


# Where Zhou et al. make each claim. The abstract states the three conclusions the chapter judges ("why setting
# weights to zero is important, how signs are all you need to make the reinitialized network train"); the body's
# figures were not read here, so they are named by what they show, not numbered, and no number is quoted from them.
ZHOU = "Zhou et al."
CRITERIA_WHERE = f"{ZHOU}, their mask-criteria section and figure"
MASK1_WHERE = f"{ZHOU}, abstract; their mask-1 section and figure"
MASK0_WHERE = f"{ZHOU}, abstract; their mask-0 section and figure"
FIGURE_ONLY = "shown in their figure; no number checked here"
NOT_CHECKED = "not stated in the parts of the paper checked here"

# The criteria Zhou et al.'s figure shows beating random masks on their fully-connected network.
BEAT_RANDOM = ("large_final", "magnitude_increase", "large_init_large_final", "movement")
# Each start that keeps the original signs, and the start that drops them it is set against.
SIGNED_PARTNERS = {
    "signed_reinit": "reinit",
    "signed_reshuffle": "reshuffle",
    "signed_constant": "rand_signed_constant",
}
UNSIGNED = tuple(SIGNED_PARTNERS.values())
ABOVE = hypotheses.Hypothesis("greater")
# Equivalence and not-worse margins relative to the effect the section studies (claims.PaperClaim.relative_to).
HALF_OF = 0.5
AGAINST_RANDOM = "against random"  # the kind of every claim of a criterion against random masks


# The criteria and starts the claims name, in words for the chapter's prose (the code names follow in brackets).
CRITERION_WORDS = {
    "large_final": "the largest final weights",
    "magnitude_increase": "the weights whose magnitude grew most",
    "large_init_large_final": "the weights large both at the start and at the end",
    "movement": "the weights that moved most",
}
START_WORDS = {
    "reinit": "new random values",
    "reshuffle": "their initial values shuffled",
    "rand_signed_constant": "a constant with random signs",
    "signed_reinit": "new random values with the original signs",
    "signed_reshuffle": "their initial values shuffled, with the original signs",
    "signed_constant": "a constant with the original signs",
}


def _kept(name: str) -> str:
    return f"masks keeping {CRITERION_WORDS[name]} ({name})"


def _start(name: str) -> str:
    return f"kept weights starting from {START_WORDS[name]} ({name})"


def judged_sizes(frame: pd.DataFrame) -> tuple[float, ...]:
    """The sizes (% of weights remaining) the chapter judges a sweep at: Frankle & Carbin's reference sizes it
    reaches, and its deepest level, where Zhou et al.'s curves separate most."""
    pruned = summary.distinct(frame[frame["level"] > 0]).groupby("level")["percent"].mean()
    near = lambda size: bool(((pruned / size - 1).abs() <= claims.LEVEL_TOLERANCE).any())  # noqa: E731
    sizes = [size for size in claims.PAPER_SIZES if near(size)]
    deepest = float(pruned.min())
    if not any(abs(deepest / size - 1) <= claims.LEVEL_TOLERANCE for size in sizes):
        sizes.append(deepest)
    return tuple(sizes)


def criteria_claims(frame: pd.DataFrame, network: str = "") -> list[claims.PaperClaim]:
    """Zhou et al.'s criteria against random masks, and the review's magnitude_increase against large_final, for the
    criteria ``frame`` holds, at :func:`judged_sizes` (every pruned level on a network other than theirs: ``network``
    names it, e.g. ``"Conv-2"``)."""
    arms = set(frame["arm"])
    on = f"On {network}, " if network else ""
    sizes = () if network else judged_sizes(frame)
    found = [
        claims.PaperClaim(
            f"{on}{_kept(name)} reach a higher test accuracy than random masks",
            CRITERIA_WHERE,
            FIGURE_ONLY if not network else "their figure shows Conv-2 on CIFAR-10; not checked criterion by criterion",
            name,
            "random",
            claims.ACCURACY,
            ABOVE,
            levels=sizes,
            compared=f"{name} − random",
            kind=AGAINST_RANDOM,
        )
        for name in BEAT_RANDOM
        if {name, "random"} <= arms
    ]
    if {"magnitude_increase", "large_final", "random"} <= arms:
        found.append(
            claims.PaperClaim(
                f"{on}{_kept('magnitude_increase')} are at least as accurate as {_kept('large_final')}",
                f"the review, reading {CRITERIA_WHERE}",
                "as good or better (the review); " + FIGURE_ONLY,
                "magnitude_increase",
                "large_final",
                claims.ACCURACY,
                hypotheses.Hypothesis("not_worse", margin=HALF_OF, why="half of large_final − random"),
                levels=sizes,
                compared="magnitude_increase − large_final",
                relative_to=("large_final", "random"),
                effect=0.0,
                kind="magnitude_increase against large_final",
            )
        )
    return found


def mask1_claims(frame: pd.DataFrame) -> dict[str, list[claims.PaperClaim]]:
    """Zhou et al.'s mask-1 claims for the starts ``frame`` holds, two tables: the starts that drop the original
    signs lose the ticket's accuracy; those that keep them recover it (within half of what the unsigned start
    loses) and beat the unsigned start."""
    arms, sizes = set(frame["arm"]), judged_sizes(frame)
    unsigned = [
        claims.PaperClaim(
            f"tickets with {_start(name)} reach a lower test accuracy than the ticket",
            MASK1_WHERE,
            FIGURE_ONLY,
            "original",
            name,
            claims.ACCURACY,
            ABOVE,
            levels=sizes,
            compared=f"original − {name}",
            kind=f"{name} against original",
        )
        for name in UNSIGNED
        if name in arms
    ]
    signed = []
    for name, partner in SIGNED_PARTNERS.items():
        if {name, partner} <= arms:
            signed += [
                claims.PaperClaim(
                    f"tickets with {_start(name)} keep the ticket's accuracy",
                    MASK1_WHERE,
                    "signs are all you need (abstract); " + FIGURE_ONLY,
                    name,
                    "original",
                    claims.ACCURACY,
                    hypotheses.Hypothesis("equivalent", margin=HALF_OF, why=f"half of original − {partner}"),
                    levels=sizes,
                    compared=f"{name} − original",
                    relative_to=("original", partner),
                    effect=0.0,
                    kind=f"{name} against original",
                ),
                claims.PaperClaim(
                    f"tickets with {_start(name)} are more accurate than with {START_WORDS[partner]} ({partner})",
                    MASK1_WHERE,
                    FIGURE_ONLY,
                    name,
                    partner,
                    claims.ACCURACY,
                    ABOVE,
                    levels=sizes,
                    compared=f"{name} − {partner}",
                    kind=f"{name} against {partner}",
                ),
            ]
    return {"mask-1 without signs": unsigned, "mask-1 with signs": signed}


def mask0_claims(frame: pd.DataFrame) -> list[claims.PaperClaim]:
    """Zhou et al.'s mask-0 claims for the actions ``frame`` holds: zero beats freezing at the initial values, and
    zeroing only the weights that moved toward zero recovers it (within half of what freezing loses)."""
    arms, sizes = set(frame["arm"]), judged_sizes(frame)
    found = []
    if "freeze_init" in arms:
        found.append(
            claims.PaperClaim(
                "pruned weights set to zero give a higher test accuracy than pruned weights frozen at their initial "
                "values (freeze_init)",
                MASK0_WHERE,
                "setting weights to zero is important (abstract); " + FIGURE_ONLY,
                "zero",
                "freeze_init",
                claims.ACCURACY,
                ABOVE,
                levels=sizes,
                compared="zero − freeze_init",
                kind="zero against freeze_init",
            )
        )
        if "freeze_init_zero_mask" in arms:
            found.append(
                claims.PaperClaim(
                    "zeroing only the pruned weights that moved toward zero, the others frozen at their initial values "
                    "(freeze_init_zero_mask), keeps the accuracy of zeroing them all",
                    MASK0_WHERE,
                    FIGURE_ONLY,
                    "freeze_init_zero_mask",
                    "zero",
                    claims.ACCURACY,
                    hypotheses.Hypothesis("equivalent", margin=HALF_OF, why="half of zero − freeze_init"),
                    levels=sizes,
                    compared="freeze_init_zero_mask − zero",
                    relative_to=("zero", "freeze_init"),
                    effect=0.0,
                    kind="freeze_init_zero_mask against zero",
                )
            )
    return found


def conv_criteria_note(book, records: dict[str, dict]) -> str:
    """Where the convolutional network's tickets stop at its deepest level; or, when ``records`` (the
    ``conv_criteria`` group) is empty, why the section is skipped."""
    if records:
        return f"On {network_name(records)}: {stops_at_deepest(frame(records))}"
    p = book.parameters
    if not book.images:
        reason = f"the convolutional networks need images; the examples of {book.dataset} are not"
    elif getattr(p, "criteria_conv", ""):
        reason = f"the chapter's network is already {p.criteria_conv}: the criteria above ran on it"
    else:
        reason = "the parameter criteria_conv is empty (-p criteria_conv conv2 runs the criteria on Conv-2)"
    return f"This section is skipped: {reason}."


def _judged(wanted: list[claims.PaperClaim], frame: pd.DataFrame) -> list[claims.Judged]:
    return claims.judge([j for claim in wanted for j in claims.tested(claim, frame)])


def verdicts(found: dict[str, dict[str, dict]], action_levels: int | None) -> dict[str, list[claims.Judged]]:
    """The deconstructing chapter's claims tables, each one family: ``criteria``, ``mask-1 without signs``,
    ``mask-1 with signs``, ``mask-0`` and ``conv criteria`` (empty when ``found`` has no convolutional criteria)."""
    criteria = frame(found["criteria"])
    mask1 = frame(with_reference(found, "mask1", "original"), levels=action_levels)
    mask0 = frame(with_reference(found, "mask0", "zero"), levels=action_levels)
    conv = found.get("conv_criteria", {})
    tables = {"criteria": _judged(criteria_claims(criteria), criteria)}
    tables.update({name: _judged(wanted, mask1) for name, wanted in mask1_claims(mask1).items()})
    tables["mask-0"] = _judged(mask0_claims(mask0), mask0)
    conv_runs = frame(conv) if conv else None
    tables["conv criteria"] = _judged(criteria_claims(conv_runs, network_name(conv)), conv_runs) if conv else []
    return tables


def verdict_groups(book) -> dict[str, list[claims.Judged]]:
    """The deconstructing chapter's verdicts by the groups the conclusions name
    (:data:`lthlib.analysis.conclusions.POINTS`): its sweeps (:func:`results`) judged by :func:`verdicts`."""
    tables = verdicts(results(book), book.parameters.action_levels)
    return {
        "zhou criteria": tables["criteria"],
        "zhou mask-1": tables["mask-1 without signs"] + tables["mask-1 with signs"],
        "zhou mask-0": tables["mask-0"],
        "zhou criteria conv": tables["conv criteria"],
    }


def network_name(records: dict[str, dict]) -> str:
    """The display name (``"Conv-2"``) of the one network all ``records`` ran."""
    (network,) = {record["config"]["network"] for record in records.values()}
    return models.NETWORK_NAMES[network]
