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
from . import claims, summary

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


# Zhou et al.'s finding for each comparison, in words, with the figure it is read from. The figures are named by
# what they show: their numbers in the final version of the paper were not checked here, and no number is
# quoted from them.
NOT_CHECKED = "not stated in the parts of the paper checked here"
CRITERIA_FIGURE = "yes (their mask-criteria figure)"
MASK1_SIGNED = "yes: keeping the signs recovers it (their mask-1 figure)"
MASK1_UNSIGNED = "no: below the ticket (their mask-1 figure)"

# Each criterion against random, as Zhou et al.'s criteria figure shows it for the fully-connected network.
CRITERION_FINDINGS = {
    "large_final": CRITERIA_FIGURE,
    "magnitude_increase": CRITERIA_FIGURE,
    "large_init_large_final": CRITERIA_FIGURE,
    "movement": CRITERIA_FIGURE,
}

# Their criteria figure shows the convolutional networks on CIFAR-10 too; how it ranks each criterion there was not
# read here, so no finding is claimed for them.
CONV_CRITERIA_FINDING = "their mask-criteria figure shows Conv-2 on CIFAR-10 too; not checked criterion by criterion"
MAGNITUDE_INCREASE_FINDING = "yes: as good or better (their mask-criteria figure)"

# Each start against the ticket's original values, as their mask-1 figure shows it.
MASK1_FINDINGS = {
    "reinit": MASK1_UNSIGNED,
    "reshuffle": MASK1_UNSIGNED,
    "rand_signed_constant": MASK1_UNSIGNED,
    "signed_reinit": MASK1_SIGNED,
    "signed_reshuffle": MASK1_SIGNED,
    "signed_constant": MASK1_SIGNED,
}

# Each value of the pruned weights against zero, as their mask-0 figure shows it.
MASK0_FINDINGS = {
    "freeze_init": "no: below zeroing (their mask-0 figure)",
    "freeze_init_zero_mask": "yes (their mask-0 figure)",
}


# The kind of every claim of a criterion against random pruning (:class:`lthlib.analysis.claims.Claim`).
AGAINST_RANDOM = "against random"


def criteria_against_random(frame: pd.DataFrame, network: str = "") -> list[claims.Claim]:
    """Each criterion's tickets against random pruning in the same trials, accuracy averaged over the levels.

    ``network``: the display name of a network other than the fully-connected one of Zhou et al.'s findings
    (e.g. ``"Conv-2"``); each claim then names it, and the paper's column is :data:`CONV_CRITERIA_FINDING`.
    """
    levels = pruned_levels(frame)
    names = [name for name in dict.fromkeys(frame["arm"]) if name != "random"]
    suffix = f" on {network}" if network else ""
    return [
        claims.arm_ahead(
            frame,
            name,
            "random",
            levels,
            f"{name} beats random{suffix}",
            CONV_CRITERIA_FINDING if network else CRITERION_FINDINGS.get(name, NOT_CHECKED),
            kind=AGAINST_RANDOM,
        )
        for name in names
    ]


# How the chapter words each verdict of a criterion against random: (after one criterion, after several).
AGAINST_RANDOM_PHRASES = {
    "supported": ("beats random", "beat random"),
    "not supported": ("falls below it", "fall below it"),
    "inconclusive": "cannot be told from it",
}


def conv_criteria_summary(book, records: dict[str, dict]) -> str:
    """The conv criteria section in sentences: which criteria beat random on the convolutional network by the rule,
    and where its deepest tickets stop; or, when ``records`` (the ``conv_criteria`` group) is empty, why."""
    if not records:
        p = book.parameters
        if not book.images:
            reason = f"the convolutional networks need images; the examples of {book.dataset} are not"
        elif getattr(p, "criteria_conv", ""):
            reason = f"the chapter's network is already {p.criteria_conv}: the criteria above ran on it"
        else:
            reason = "the parameter criteria_conv is empty (-p criteria_conv conv2 runs the criteria on Conv-2)"
        return f"This section is skipped: {reason}."
    runs = frame(records)
    against = criteria_against_random(runs, network_name(records))
    verdicts = claims.by_verdict(against, lambda claim: claim.claim.split()[0], AGAINST_RANDOM_PHRASES)
    return f"On {network_name(records)}, by this rule: {verdicts} {stops_at_deepest(runs)}"


def conv_criteria_claims(frame: pd.DataFrame, network: str) -> list[claims.Claim]:
    """The criteria on the convolutional network ``network`` (its display name): each against random, then
    magnitude_increase against large_final within the matching margin, as on the fully-connected network."""
    found = criteria_against_random(frame, network)
    if {"magnitude_increase", "large_final"} <= set(frame["arm"]):
        found.append(
            claims.arm_ahead(
                frame,
                "magnitude_increase",
                "large_final",
                pruned_levels(frame),
                f"magnitude_increase is as good as large_final on {network}",
                MAGNITUDE_INCREASE_FINDING,
                at_least_as_good=True,
            )
        )
    return found


def actions_against(frame: pd.DataFrame, reference: str, findings: dict[str, str]) -> list[claims.Claim]:
    """Each action's tickets against ``reference``'s (within the matching margin), accuracy averaged over the levels.

    ``findings``: ``{action: paper's finding in words}``.
    """
    levels = pruned_levels(frame)
    names = [name for name in dict.fromkeys(frame["arm"]) if name != reference]
    return [
        claims.arm_ahead(
            frame,
            name,
            reference,
            levels,
            f"{name} is as good as {reference}",
            findings.get(name, NOT_CHECKED),
            at_least_as_good=True,
        )
        for name in names
    ]


def headline_claims(criteria: pd.DataFrame, mask1: pd.DataFrame, mask0: pd.DataFrame) -> list[claims.Claim]:
    """Zhou et al.'s main conclusions on criteria, starts and zeros, each judged where its arms were run."""
    wanted = [
        (
            criteria,
            "large_final",
            "random",
            "the lottery ticket's criterion beats a random mask",
            CRITERIA_FIGURE,
            False,
        ),
        (
            criteria,
            "magnitude_increase",
            "large_final",
            "magnitude_increase is as good as large_final",
            MAGNITUDE_INCREASE_FINDING,
            True,
        ),
        (
            criteria,
            "random",
            "small_final",
            "keeping the smallest final weights loses to a random mask",
            NOT_CHECKED,
            False,
        ),
        (
            mask1,
            "signed_reinit",
            "reinit",
            "reinitialising with the original signs beats reinitialising",
            MASK1_SIGNED,
            False,
        ),
        (
            mask1,
            "signed_reinit",
            "original",
            "reinitialising with the original signs is as good as the initial values",
            MASK1_SIGNED,
            True,
        ),
        (
            mask1,
            "signed_constant",
            "original",
            "a signed constant is as good as the initial values",
            MASK1_SIGNED,
            True,
        ),
        (
            mask0,
            "zero",
            "freeze_init",
            "pruned weights set to zero beat pruned weights frozen at their initial values",
            MASK0_FINDINGS["freeze_init"].replace("no: below zeroing", "yes"),
            False,
        ),
        (
            mask0,
            "freeze_init_zero_mask",
            "zero",
            "zeroing only the weights that moved toward zero is as good as zeroing all pruned weights",
            MASK0_FINDINGS["freeze_init_zero_mask"],
            True,
        ),
    ]
    found = []
    for frame, ahead, behind, claim, paper, as_good in wanted:
        if {ahead, behind} <= set(frame["arm"]):
            found.append(claims.arm_ahead(frame, ahead, behind, pruned_levels(frame), claim, paper, as_good))
    return found


def verdicts(found: dict[str, dict[str, dict]], action_levels: int | None) -> dict[str, list[claims.Claim]]:
    """The deconstructing chapter's verdicts by section: ``criteria``, ``mask1``, ``mask0``, ``headline`` and
    ``conv criteria`` (empty when ``found`` has no convolutional criteria)."""
    criteria = frame(found["criteria"])
    mask1 = frame(with_reference(found, "mask1", "original"), levels=action_levels)
    mask0 = frame(with_reference(found, "mask0", "zero"), levels=action_levels)
    conv = found.get("conv_criteria", {})
    return {
        "criteria": criteria_against_random(criteria),
        "mask1": actions_against(mask1, "original", MASK1_FINDINGS),
        "mask0": actions_against(mask0, "zero", MASK0_FINDINGS),
        "headline": headline_claims(criteria, mask1, mask0),
        "conv criteria": conv_criteria_claims(frame(conv), network_name(conv)) if conv else [],
    }


def verdict_groups(book) -> dict[str, list[claims.Claim]]:
    """The deconstructing chapter's verdicts by the groups the conclusions name
    (:data:`lthlib.analysis.conclusions.POINTS`): its sweeps (:func:`results`) judged by :func:`verdicts`."""
    sections = verdicts(results(book), book.parameters.action_levels)
    return {
        "zhou criteria": sections["criteria"],
        "zhou mask-1": sections["mask1"],
        "zhou mask-0": sections["mask0"],
        "zhou headline": sections["headline"],
        "zhou criteria conv": sections["conv criteria"],
    }


def network_name(records: dict[str, dict]) -> str:
    """The display name (``"Conv-2"``) of the one network all ``records`` ran."""
    (network,) = {record["config"]["network"] for record in records.values()}
    return models.NETWORK_NAMES[network]
