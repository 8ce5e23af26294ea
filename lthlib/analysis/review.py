"""The review's open questions on masks, answered by the book's own experiments: which runs each needs, and its
verdicts.

Two chapters ask the review's questions: ``review`` (one mask, signs, zeros, fine-tuning, choosing a mask as
training; this module) and ``transfer`` (transfer, overfitting; :mod:`lthlib.analysis.transfer`). Every run is
LeNet-300-100 at the chapter's settings (those of the Zhou et al. chapters by default, so their large_final,
criterion and mask-0 sweeps are reused, not trained again), and the runs that differ only in their arms train
together (:func:`read`). The runs of the chapter ``review`` (:func:`sweeps`), as config fields:

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
  and the book's two more).
"""

from __future__ import annotations

import pandas as pd

from . import bits, claims, overlap, stats, summary, supermasks

NOT_STATED = "not stated in the parts of the papers checked here"
ANOTHER_START = "another θ0"
ALL_CONTROLS = ("reinit", "random_prune", "rewind", "finetune", "finetune_low")
ZEROING = ("freeze_init", "freeze_init_zero_mask", "freeze_init_zero_away", "freeze_final")
IMP = dict(experiment="imp", controls=())


def lenet_fields(book) -> dict:
    """The fields of the chapter's main LeNet-300-100 runs (iterations, eval_every, levels)."""
    return dict(network="lenet", **book.lenet_settings())


def shared_sweeps(book) -> dict:
    """The runs of the Zhou et al. chapters both review chapters read: the large_final tickets and their controls."""
    return {
        "ticket": {**IMP, **lenet_fields(book)},
        "controls": {"experiment": "imp", "controls": ALL_CONTROLS, **shorter_fields(book)},
    }


def shorter_fields(book) -> dict:
    """Those of the runs pruned ``action_levels`` times, as the Zhou et al. chapter's actions are."""
    return {**lenet_fields(book), "levels": book.parameters.action_levels}


def sweeps(book) -> dict[str, dict]:
    """``{name: config fields}`` of every run the chapter ``review`` reads (see the module's list)."""
    lenet, shorter = lenet_fields(book), shorter_fields(book)
    found = {
        **shared_sweeps(book),
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
    found.update({f"supermask:{label}": fields for label, fields in supermasks.learned_fields(book).items()})
    return found


def read(book, wanted: dict[str, dict]) -> dict[str, dict]:
    """``{name: record}`` for ``wanted`` (``{name: config fields}``): those of :data:`JOINT` train together (read
    from the store, or trained as one run), the others alone."""
    joint = {name: fields for name, fields in wanted.items() if name in JOINT}
    found = dict(zip(joint, book.results_together(*joint.values())))
    for name, fields in wanted.items():
        if name not in found:
            found[name] = book.result(**fields)
    return found


def results(book) -> dict[str, dict]:
    """``{name: record}`` for :func:`sweeps`: the iterative sweeps that can train together do, the others alone."""
    return read(book, sweeps(book))


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
    """The stored masks of a run of ``book``, once :func:`results` has found it."""
    return book.store.load_masks(book.config(**fields))


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


# ---------------------------------------------------------------- verdicts of the other questions


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
    return claims.arms_ahead(
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
    return claims.arms_ahead(
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
    return claims.arms_ahead(
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


# ---------------------------------------------------------------- 7. choosing a mask is training


# What a network of the information figure was given, in three kinds (the six learned supermasks are one).
KINDS = ("ticket: mask and trained weights", "learned supermask: mask only", "untrained same-sign mask: mask only")


def information_frame(ticket: dict, learned: dict[str, dict], same_sign: dict | None = None) -> pd.DataFrame:
    """Accuracy against the bits each network was given: a ticket's mask and its trained weights (32 bits each,
    its accuracy at early stop), a learned supermask's mask alone (``learned``: ``{label: record}``), and an
    untrained masked network's mask alone (its accuracy before training). One row per run; ``what`` says which."""
    frames = []
    tickets = bits.bits_frame(ticket)
    frames.append(
        tickets.assign(what="ticket: mask + weights", kind=KINDS[0], bits=tickets["mask_bits"] + tickets["weight_bits"])
    )
    for label, record in learned.items():
        masks = bits.bits_frame(record, arm="supermask")
        frames.append(masks.assign(what=f"learned: {label}", kind=KINDS[1], bits=masks["mask_bits"]))
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
    :func:`lthlib.analysis.supermasks.best_learned_arm`), from :func:`lthlib.analysis.supermasks.learned_frame`,
    against chance, and against the trained tickets (``arm`` of ``tickets``) of the size nearest its mask's, trial by
    trial: the bits each was given are in the text."""
    best = supermasks.best_learned_arm(learned)
    if best is None:
        return []
    mine = supermasks.trials_of(learned, best, 0)
    percent = supermasks.learned_percent(mine)
    above = stats.paired(mine[claims.ACCURACY], [supermasks.CHANCE] * len(mine), mine["stopped_at_last_evaluation"])
    level = supermasks.nearest_level(tickets, arm, percent)
    trained = supermasks.trials_of(tickets, arm, level)
    versus = claims.compare(mine, trained, claims.ACCURACY)
    chance = f"{100 * supermasks.CHANCE:g} %"
    return [
        claims.Claim(
            f"a mask alone, learned on frozen weights ({best}), is far above chance",
            "the review: choosing the mask is a form of training",
            f"{100 * mine[claims.ACCURACY].mean():.1f} % with {percent:.1f} % of the weights kept; minus chance: "
            f"{above.text(100, ' points')}",
            above.n,
            claims.with_reason(above.verdict(margin=FAR_ABOVE_CHANCE - supermasks.CHANCE), above),
            f"the supermask is the one with the best mean validation accuracy; supported when the 95 % interval of "
            f"its test accuracy minus {chance} lies above {100 * (FAR_ABOVE_CHANCE - supermasks.CHANCE):g} points (an "
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
    learned = _learned_supermasks(found)
    return {
        "one mask": shared + one_mask_claims(borrowed_frame(found)),
        "signs": sign_claims(found["signs"], shown_levels(run["level"] for run in found["signs"]["runs"])),
        "zeros": zeroing_claims(zeroing_frame(found)),
        "fine-tuning": finetune_claims(summary.runs_frame(found["controls"])),
        "mask training": mask_training_claims(supermasks.learned_frame(learned), summary.runs_frame(found["ticket"]))
        if learned
        else [],
    }


def verdict_groups(book) -> dict[str, list[claims.Claim]]:
    """The chapter ``review``'s verdicts by the groups the conclusions name
    (:data:`lthlib.analysis.conclusions.POINTS`): :func:`mask_verdicts` of its runs and their masks' overlaps."""
    found = results(book)
    return mask_verdicts(found, overlaps(book, found))
