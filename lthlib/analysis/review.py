"""The review's open questions, answered by the book's own experiments: which runs each needs, and its verdicts.

Two chapters ask them: ``review`` (one mask, signs, zeros, fine-tuning,
choosing a mask as training) and ``transfer`` (transfer, overfitting). Every
run is LeNet-300-100 at the chapter's settings (those of the Zhou et al.
chapters by default, so their large_final, criterion and mask-0 sweeps are
reused, not trained again). Runs (:func:`mask_sweeps`, :func:`data_sweeps`), as
config fields:

- ``ticket``: large_final tickets, no controls (the Zhou criteria sweep; both chapters);
- ``other_order``: the same with another data order (``data_seed``), same θ0;
- ``oneshot``: the same masks' size by one-shot pruning;
- ``magnitude_increase``, ``movement``, ``random``: those sweeps of the Zhou chapters;
- ``same_sign_constant``: the supermask chapter's untrained large_final_same_sign masks with signed constants;
- ``supermask:<method>, <start>``: the learned supermasks of the supermask chapter (with its parameters);
- ``swap``: each trial trains the next trial's masks from its own θ0;
- ``signs``: the ticket sweep trained again with the sign probe;
- ``controls``: large_final with reinit, random_prune, rewind, finetune and
  finetune_low (the fine-tuning question and the generalisation gap; both chapters);
- ``zeroing``: large_final with each mask-0 action (the Zhou mask-0 sweeps
  and the book's two more);
- ``transfer`` / ``target``: masks found on ``transfer_source`` trained on
  ``transfer_target``, and the target's own sweep with its controls; ``shift`` /
  ``shift_target`` the same from the chapter's dataset to ``shift_target``;
- ``halves``: masks of each half of the training set trained on the other.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from . import bits, claims, overlap, stats, summary, zhou

NOT_STATED = "not stated in the parts of the papers checked here"
ANOTHER_START = "another θ0"
ALL_CONTROLS = ("reinit", "random_prune", "rewind", "finetune", "finetune_low")
ZEROING = ("freeze_init", "freeze_init_zero_mask", "freeze_init_zero_away", "freeze_final")
HALVES = ("half=a", "half=b")
IMP = dict(experiment="imp", controls=())


def sweeps(book) -> dict[str, dict]:
    """``{name: config fields}`` of every run ``book`` reads: :func:`mask_sweeps` for the chapter ``review``,
    :func:`data_sweeps` for the chapter ``transfer`` (see the module's list)."""
    return CHAPTER_SWEEPS[book.name](book)


def _lenet(book) -> dict:
    """The fields of the chapter's main LeNet-300-100 runs (iterations, eval_every, levels)."""
    return dict(network="lenet", **book.lenet_settings())


def _shared(book) -> dict:
    """The runs of the Zhou et al. chapters both review chapters read: the large_final tickets and their controls."""
    return {
        "ticket": {**IMP, **_lenet(book)},
        "controls": {"experiment": "imp", "controls": ALL_CONTROLS, **_shorter(book)},
    }


def _shorter(book) -> dict:
    """Those of the runs pruned ``action_levels`` times, as the Zhou et al. chapter's actions are."""
    return {**_lenet(book), "levels": book.parameters.action_levels}


def mask_sweeps(book) -> dict[str, dict]:
    """The runs of the chapter on masks, signs, zeros, fine-tuning and choosing a mask as training."""
    lenet, shorter = _lenet(book), _shorter(book)
    found = {
        **_shared(book),
        "other_order": {**IMP, **lenet, "data_seed": book.config(**lenet).seed + 1},
        "oneshot": {"experiment": "oneshot", "controls": (), **lenet},
        "magnitude_increase": {**IMP, **lenet, "criterion": "magnitude_increase"},
        "movement": {**IMP, **lenet, "criterion": "movement"},
        "random": {**IMP, **lenet, "criterion": "random"},
        "same_sign_constant": {
            **lenet,
            "experiment": "untrained",
            "controls": (),
            "criterion": "large_final_same_sign",
            "mask1": "signed_constant",
        },
        "swap": {"experiment": "swap", **lenet},
        "signs": {"experiment": "signs", **lenet},
        **{f"zero:{action}": {**IMP, **shorter, "mask0": action} for action in ZEROING},
    }
    found.update({f"supermask:{label}": fields for label, fields in zhou.learned_fields(book).items()})
    return found


def data_sweeps(book) -> dict[str, dict]:
    """The runs of the chapter on transfer and overfitting."""
    p, lenet, shorter, base = book.parameters, _lenet(book), _shorter(book), book.dataset
    controls = ("random_prune",)  # what the transfer verdicts compare with, besides the target's own tickets
    found = {
        **_shared(book),
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
        found[f"{mine} own"] = {**IMP, "dataset": f"{base}:{mine}", **shorter}
    return found


def shift_skipped(book) -> str | None:
    """Why the chapter ``transfer`` moves no mask to shifted images (a sentence), or ``None`` when it does: the
    parameter ``shift_target`` is empty, or it is the default rotation and the dataset has no images."""
    if not book.parameters.shift_target:
        return "The move to shifted images is skipped: the parameter shift_target is empty."
    if book.images or "shift_target" in book.given:
        return None
    return f"The move to shifted images is skipped: it rotates images, and {book.dataset} has none."


CHAPTER_SWEEPS = {"review": mask_sweeps, "transfer": data_sweeps}


def results(book) -> dict[str, dict]:
    """``{name: record}`` for :func:`sweeps`: the iterative sweeps that can train together do, the others alone."""
    wanted = sweeps(book)
    joint = {name: fields for name, fields in wanted.items() if name in JOINT}
    found = dict(zip(joint, book.results_together(*joint.values())))
    for name, fields in wanted.items():
        if name not in found:
            found[name] = book.result(**fields)
    return found


# The runs that share every setting but their arms (one dense training for all of them).
JOINT = (
    "ticket",
    "magnitude_increase",
    "movement",
    "random",
    "controls",
    *(f"zero:{action}" for action in ZEROING),
)


# ---------------------------------------------------------------- 1. one mask?


def _load_masks(book, fields) -> dict:
    """The stored masks of a run of ``book`` (committed store first), once :func:`results` has found it."""
    config = book.config(**fields)
    for store in (book.committed, book.store):
        if store is not None and store.load(config) is not None:
            return store.load_masks(config)
    raise KeyError(f"no stored masks for {config.experiment} {config.criterion} on {config.dataset}")


def overlaps(book, found: dict) -> pd.DataFrame:
    """Per level, trial and layer, the Jaccard overlap of the large_final ticket's mask with another mask,
    against the overlap of random masks of the same sizes (column ``above_random``), for each comparison:
    another θ0 (the next trial), another data order, another criterion, one-shot pruning."""
    wanted = sweeps(book)
    mine = _load_masks(book, wanted["ticket"])
    others = {name: _load_masks(book, wanted[name]) for name in ("other_order", "magnitude_increase", "movement")}
    others["oneshot"] = _load_masks(book, wanted["oneshot"])
    layers = list(found["ticket"]["layers"])
    trials = found["ticket"]["config"]["trials"]
    frames = []
    for level in range(1, found["ticket"]["config"]["levels"] + 1):
        for trial in range(trials):
            ticket = overlap.ticket(mine, level, trial, layers)
            percent = 100 * next(r["remaining"] for r in found["ticket"]["runs"] if r["level"] == level)
            pairs = {ANOTHER_START: overlap.ticket(mine, level, (trial + 1) % trials, layers)}
            pairs["another data order"] = overlap.ticket(others["other_order"], level, trial, layers)
            pairs["magnitude_increase"] = overlap.ticket(others["magnitude_increase"], level, trial, layers)
            pairs["movement"] = overlap.ticket(others["movement"], level, trial, layers)
            pairs["one-shot"] = overlap.ticket(others["oneshot"], level, trial, layers)
            for comparison, other in pairs.items():
                frames.append(
                    overlap.compare(ticket, other, comparison=comparison, level=level, trial=trial, percent=percent)
                )
    return summary.concat(frames)


def borrowed_frame(found: dict) -> pd.DataFrame:
    """The ticket sweep, the swapped masks and the random criterion's masks (arm ``random``), as arms of one frame.

    Trial t of every arm starts from the same θ0 and sees the data in the same order."""
    ticket = summary.runs_frame(found["ticket"])
    swapped = summary.runs_frame(found["swap"])
    random = summary.runs_frame(found["random"])
    return summary.concat(
        [ticket, swapped[swapped["arm"] == "swapped"], random[random["level"] > 0].assign(arm="random")]
    )


# ---------------------------------------------------------------- 2. signs

SIGN_KEYS = ("kept_flipped", "kept_grew", "pruned_flipped", "pruned_grew")


def sign_curves(record: dict) -> pd.DataFrame:
    """Long frame of the sign probe: level, trial, percent, iteration, group (kept, pruned), statistic, fraction."""
    curves = summary.curves_frame(record)
    long = curves.melt(
        id_vars=["level", "trial", "percent", "iteration"], value_vars=list(SIGN_KEYS), value_name="fraction"
    )
    long[["group", "statistic"]] = long["variable"].str.split("_", n=1, expand=True)
    return long.drop(columns="variable")


def at_early_stop(record: dict) -> pd.DataFrame:
    """Per run of the sign probe: the four fractions at its early-stopping iteration."""
    rows = []
    for run in record["runs"]:
        index = run["curve"]["iteration"].index(run["early_stop"]["iteration"])
        rows.append(
            {
                "level": run["level"],
                "trial": run["trial"],
                "percent": 100 * run["remaining"],
                **{key: run["curve"][key][index] for key in SIGN_KEYS},
            }
        )
    return pd.DataFrame(rows)


def shown_levels(levels, count: int = 3) -> list[int]:
    """At most ``count`` of the distinct ``levels``, spread from the first (dense) to the deepest."""
    distinct = sorted(set(int(level) for level in levels))
    if len(distinct) <= count:
        return distinct
    return [distinct[round(i * (len(distinct) - 1) / (count - 1))] for i in range(count)]


def sign_claims(record: dict, levels) -> list[claims.Claim]:
    """:func:`flips_beat_growth` for the kept and the pruned weights at each of ``levels``."""
    return [flips_beat_growth(record, group, level) for level in levels for group in ("kept", "pruned")]


def flips_beat_growth(record: dict, group: str, level: int = 0) -> claims.Claim:
    """Whether more of ``group``'s weights have changed sign than grown, at the early stop of ``level``."""
    stops = at_early_stop(record)
    rows = stops[stops["level"] == level].sort_values("trial")
    difference = stats.paired(rows[f"{group}_flipped"], rows[f"{group}_grew"])
    percent = float(rows["percent"].mean())
    return claims.Claim(
        f"a weight the next round {'keeps' if group == 'kept' else 'removes'} is more likely to change sign than to "
        f"grow (at {percent:.1f} % of the weights)",
        "the review's reading of Zhou et al.",
        f"changed sign minus grew: {difference.text(100, ' points of the weights')}",
        difference.n,
        claims.with_reason(difference.verdict(), difference),
        "supported when the 95 % interval of the fraction that changed sign minus the fraction that grew, at the "
        "early stop, lies above 0, not supported when below, else inconclusive",
        kind="signs flip",
    )


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
                NOT_STATED,
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


# ---------------------------------------------------------------- verdicts of the other questions


def _judged(frame: pd.DataFrame, wanted) -> list[claims.Claim]:
    """``claims.arm_ahead`` for each (ahead, behind, claim, paper, at least as good) whose arms ``frame`` holds."""
    levels = sorted(set(frame.loc[frame["level"] > 0, "level"]))
    return [
        claims.arm_ahead(frame, ahead, behind, levels, claim, paper, as_good)
        for ahead, behind, claim, paper, as_good in wanted
        if {ahead, behind} <= set(frame["arm"])
    ]


def overlap_claims(overlaps: pd.DataFrame) -> list[claims.Claim]:
    """Do different runs choose the same mask? For each comparison of :func:`overlaps` at the deepest level but
    another θ0 (shown, not judged: its pairs of trials overlap): whether the masks share more weights than random
    masks of the same sizes would."""
    deepest = overlaps[overlaps["level"] == overlaps["level"].max()]
    found = []
    for comparison, rows in deepest.groupby("comparison", sort=False):
        if comparison == ANOTHER_START:
            continue  # trial t against t + 1: each trial is in two pairs, which are not independent
        per_trial = rows.assign(excess=rows["jaccard"] - rows["random_jaccard"]).groupby("trial")
        excess, ratio = per_trial["excess"].mean(), per_trial["above_random"].mean()
        difference = stats.paired(excess, [0.0] * len(excess))
        found.append(
            claims.Claim(
                f"a ticket's mask and the mask found with {comparison} share more weights than random masks would "
                f"(at {rows['percent'].mean():.1f} %)",
                "neither paper tests it",
                f"{ratio.mean():.2f} times the random overlap; Jaccard minus random: {difference.text(100, ' points')}",
                difference.n,
                claims.with_reason(difference.verdict(), difference),
                "per trial, the Jaccard overlap minus that of random masks of the same sizes, averaged over the "
                "layers, at the deepest level; supported when its 95 % interval lies above 0, not supported when "
                "below, else inconclusive",
                kind="masks overlap",
            )
        )
    return found


def one_mask_claims(frame: pd.DataFrame) -> list[claims.Claim]:
    """Is a mask useful without its own θ0? (:func:`borrowed_frame`)"""
    return _judged(
        frame,
        [
            (
                "swapped",
                "ticket",
                "a mask trained from another trial's θ0 is as good as from its own",
                "not tested",
                True,
            ),
            ("swapped", "random", "a mask trained from another trial's θ0 beats a random mask", "not tested", False),
        ],
    )


def zeroing_frame(found: dict) -> pd.DataFrame:
    """The large_final tickets with their pruned weights at zero (arm ``zero``) and under each other action."""
    frames = {"zero": summary.runs_frame(found["ticket"])}
    frames.update({action: summary.runs_frame(found[f"zero:{action}"]) for action in ZEROING})
    levels = max(int(frame["level"].max()) for name, frame in frames.items() if name != "zero")
    combined = summary.combine(frames)
    return combined[combined["level"] <= levels].reset_index(drop=True)


def zeroing_claims(frame: pd.DataFrame) -> list[claims.Claim]:
    """Which pruned weights must be zero for the ticket to work."""
    return _judged(
        frame,
        [
            (
                "zero",
                "freeze_init",
                "pruned weights at zero beat pruned weights frozen at θ0",
                "yes (Zhou et al.)",
                False,
            ),
            (
                "freeze_init_zero_mask",
                "zero",
                "zeroing only the weights that moved toward zero is enough",
                "yes (Zhou et al.)",
                True,
            ),
            (
                "zero",
                "freeze_init_zero_away",
                "zeroing only the weights that moved away from zero is not enough",
                "not tested",
                False,
            ),
            (
                "freeze_final",
                "zero",
                "pruned weights frozen at their trained values are as good as zero",
                "not tested",
                True,
            ),
        ],
    )


def finetune_claims(frame: pd.DataFrame) -> list[claims.Claim]:
    """Resetting to θ0 (the ticket) against rewinding and fine-tuning the same mask, equal iteration budgets."""
    return _judged(
        frame,
        [
            (
                "rewind",
                "ticket",
                "rewinding to an early iteration beats resetting to θ0",
                "later work: on deeper networks",
                False,
            ),
            ("finetune", "ticket", "fine-tuning the trained weights beats resetting to θ0", "not tested", False),
            (
                "finetune_low",
                "finetune",
                "fine-tuning at a tenth of the learning rate beats fine-tuning at the rate",
                "not tested",
                False,
            ),
        ],
    )


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
    own, moved, as_good = _judged(
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


# ---------------------------------------------------------------- 7. choosing a mask is training


# What a network of the information figure was given, in three kinds (the six learned supermasks are one).
KINDS = ("ticket: mask and trained weights", "learned supermask: mask only", "untrained same-sign mask: mask only")


def information_frame(ticket: dict, supermasks: dict[str, dict], same_sign: dict | None = None) -> pd.DataFrame:
    """Accuracy against the bits each network was given: a ticket's mask and its trained weights (32 bits each,
    its accuracy at early stop), a learned supermask's mask alone, and an untrained masked network's mask alone
    (its accuracy before training). One row per run; ``what`` says which."""
    frames = []
    tickets = bits.bits_frame(ticket)
    frames.append(
        tickets.assign(what="ticket: mask + weights", kind=KINDS[0], bits=tickets["mask_bits"] + tickets["weight_bits"])
    )
    for label, record in supermasks.items():
        learned = bits.bits_frame(record, arm="supermask")
        frames.append(learned.assign(what=f"learned: {label}", kind=KINDS[1], bits=learned["mask_bits"]))
    if same_sign is not None:
        untrained = bits.bits_frame(same_sign)
        before = summary.runs_frame(same_sign)
        before = before[~before["copy_of_dense"]].set_index(["level", "trial"])["init_test_acc"]
        untrained["early_stop_test_acc"] = [
            before[(level, trial)] for level, trial in zip(untrained["level"], untrained["trial"])
        ]
        untrained = untrained[untrained["level"] > 0]
        frames.append(untrained.assign(what="untrained: same-sign mask", kind=KINDS[2], bits=untrained["mask_bits"]))
    return summary.concat(frames)


FAR_ABOVE_CHANCE = 0.5  # a test accuracy five times chance: what "far above chance" is taken to mean


def _learned_supermasks(found: dict) -> dict[str, dict]:
    """The learned supermask records of ``found``, labelled ``<method>, <start>``."""
    return {name.partition(":")[2]: record for name, record in found.items() if name.startswith("supermask:")}


def mask_training_claims(learned: pd.DataFrame, tickets: pd.DataFrame, arm: str = "ticket") -> list[claims.Claim]:
    """Is choosing a mask a form of training? The learned supermask chosen on validation (see
    :func:`lthlib.analysis.zhou.best_learned_arm`), from :func:`lthlib.analysis.zhou.learned_frame`, against
    chance, and against the trained tickets (``arm`` of ``tickets``) of the size nearest its mask's, trial by trial:
    the bits each was given are in the text."""
    best = zhou.best_learned_arm(learned)
    if best is None:
        return []
    mine = zhou._trials_of(learned, best, 0)
    percent = zhou.learned_percent(mine)
    above = stats.paired(mine[claims.ACCURACY], [zhou.CHANCE] * len(mine), mine["stopped_at_last_evaluation"])
    level = zhou.nearest_level(tickets, arm, percent)
    trained = zhou._trials_of(tickets, arm, level)
    versus = claims.compare(mine, trained, claims.ACCURACY)
    chance = f"{100 * zhou.CHANCE:g} %"
    return [
        claims.Claim(
            f"a mask alone, learned on frozen weights ({best}), is far above chance",
            "the review: choosing the mask is a form of training",
            f"{100 * mine[claims.ACCURACY].mean():.1f} % with {percent:.1f} % of the weights kept; minus chance: "
            f"{above.text(100, ' points')}",
            above.n,
            claims.with_reason(above.verdict(margin=FAR_ABOVE_CHANCE - zhou.CHANCE), above),
            f"the supermask is the one with the best mean validation accuracy; supported when the 95 % interval of "
            f"its test accuracy minus {chance} lies above {100 * (FAR_ABOVE_CHANCE - zhou.CHANCE):g} points (an "
            f"accuracy above {100 * FAR_ABOVE_CHANCE:g} %), not supported when it lies below, else inconclusive",
            kind="mask alone above chance",
        ),
        claims.Claim(
            "a mask alone does as well as training the weights it keeps",
            NOT_STATED,
            f"{best} minus the trained ticket at {float(trained['percent'].mean()):.1f} %: "
            f"{versus.text(100, ' points')}",
            versus.n,
            claims.with_reason(versus.verdict(margin=-claims.MATCH_MARGIN), versus),
            f"the ticket is the one whose size is nearest the mask's, in the same trials; supported when the 95 % "
            f"interval of the supermask's test accuracy minus the ticket's lies above -{100 * claims.MATCH_MARGIN:g}"
            f" points, not supported when it lies below, else inconclusive",
            kind="mask alone as good as training",
        ),
    ]


def mask_verdicts(found: dict, overlap_frame: pd.DataFrame | None = None) -> dict[str, list[claims.Claim]]:
    """The verdicts of the chapter ``review`` by question: one mask (with ``overlap_frame``, from :func:`overlaps`,
    the masks' overlaps too), signs, zeros, fine-tuning, mask training."""
    shared = overlap_claims(overlap_frame) if overlap_frame is not None else []
    supermasks = _learned_supermasks(found)
    return {
        "one mask": shared + one_mask_claims(borrowed_frame(found)),
        "signs": sign_claims(found["signs"], shown_levels(run["level"] for run in found["signs"]["runs"])),
        "zeros": zeroing_claims(zeroing_frame(found)),
        "fine-tuning": finetune_claims(summary.runs_frame(found["controls"])),
        "mask training": mask_training_claims(zhou.learned_frame(supermasks), summary.runs_frame(found["ticket"]))
        if supermasks
        else [],
    }


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
