"""The supermask chapter's reading of the store: masked networks that are never trained, and learned supermasks.

Its untrained masks are the ``untrained`` group of :func:`lthlib.analysis.zhou.sweeps` (Zhou et al.'s supermasks
at initialisation, each criterion and ``large_final_same_sign``, with original values and with signed constants);
its learned supermasks (:func:`learned_fields`) learn a mask on frozen weights, one record each. Both are judged
against chance, against each other and against the trained large_final tickets (:func:`supermask_claims`).
"""

from __future__ import annotations

import pandas as pd

from ..engine import supermask
from . import claims, hypotheses, summary, zhou

SUPERMASK_WHERE = f"{zhou.ZHOU}, abstract; their supermask section and figure"
LEARNED_WHERE = f"{zhou.ZHOU}, their learned-supermask section"
ABOVE = hypotheses.Hypothesis("greater")
CHANCE_ARM = "chance"  # the accuracy of guessing, set beside a masked network's trials for the paired test
SAME_SIGN_CONSTANT = "large_final_same_sign" + zhou.CONSTANT_SUFFIX
SAME_SIGN = {"large_final_same_sign": "original", SAME_SIGN_CONSTANT: "signed_constant"}

# The networks are never trained, only masked.
CHANCE = 0.1  # ten balanced classes


def at_init(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the accuracies before training (iteration 0) in the early-stop columns, for the claims' rules.

    At iteration 0 nothing has trained, so no run "stopped at its last evaluation".
    """
    return frame.assign(
        early_stop_test_acc=frame["init_test_acc"],
        early_stop_val_acc=frame["init_val_acc"],
        stopped_at_last_evaluation=False,
    )


def by_start(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of an untrained-masks frame split by what kept weights start from, each ``arm`` the criterion:
    ``{"initial values": ..., "signed constants": ...}``."""
    constant = frame["arm"].str.endswith(zhou.CONSTANT_SUFFIX)
    return {
        "initial values": frame[~constant],
        "signed constants": frame[constant].assign(arm=lambda f: f["arm"].str.removesuffix(zhou.CONSTANT_SUFFIX)),
    }


def best_level(frame: pd.DataFrame, arm: str, column: str = "early_stop_val_acc") -> int:
    """The pruned level of ``arm`` with the highest mean validation accuracy (never chosen on the test set)."""
    rows = summary.distinct(frame[(frame["arm"] == arm) & (frame["level"] > 0)])
    return int(rows.groupby("level")[column].mean().idxmax())


def learned_fields(book) -> dict[str, dict]:
    """``{label: fields}`` of each learned supermask: every method of ``supermask_methods`` from every start."""
    p = book.parameters
    settings = {
        name: value
        for name, value in dict(iterations=p.supermask_iterations, eval_every=p.supermask_eval_every).items()
        if value is not None
    }
    return {
        f"{method}, {start}": dict(
            experiment="supermask", network=book.main_network, supermask=method, mask1=start, **settings
        )
        for method in zhou.names_in(p.supermask_methods)
        for start in zhou.names_in(p.supermask_starts)
    }


def learned_results(book) -> dict[str, dict]:
    """``{label: record}`` of :func:`learned_fields`, from the store or trained (one record each)."""
    return {label: book.result(**fields) for label, fields in learned_fields(book).items()}


def learned_frame(records: dict[str, dict]) -> pd.DataFrame:
    """One row per learned supermask: its ``arm`` the record's label, ``method`` and ``start`` split from it."""
    frame = summary.combine({label: summary.runs_frame(record) for label, record in records.items()})
    method, start = zip(*(label.split(", ") for label in frame["arm"])) if len(frame) else ((), ())
    return frame.assign(method=list(method), start=list(start))


def learned_curves(records: dict[str, dict]) -> pd.DataFrame:
    """One row per evaluation point of each learned supermask's runs, ``arm`` the record's label."""
    return summary.concat(
        summary.curves_frame(record, arm="supermask").assign(arm=label) for label, record in records.items()
    )


def trials_of(frame: pd.DataFrame, arm: str, level: int) -> pd.DataFrame:
    rows = summary.distinct(frame[(frame["arm"] == arm) & (frame["level"] == level)])
    return rows.set_index("trial").sort_index()


def learned_percent(mine: pd.DataFrame) -> float:
    """The share of weights (%) a learned supermask's mask keeps at its early stop, over its trials' rows ``mine``:
    for a sampled mask the expected one (the mean of sigmoid(score)), else the stored mask's."""
    measured = mine["early_stop_density"] if "early_stop_density" in mine else pd.Series(dtype=float)
    if len(measured) and measured.notna().all():
        return float(100 * measured.mean())
    return float(mine["percent"].mean())


def nearest_level(frame: pd.DataFrame, arm: str, percent: float) -> int:
    """The pruned level of ``arm`` in ``frame`` whose mean share of weights is nearest ``percent``."""
    pruned = summary.distinct(frame[(frame["arm"] == arm) & (frame["level"] > 0)])
    return int(pruned.groupby("level")["percent"].mean().sub(percent).abs().idxmin())


def best_learned_arm(learned: pd.DataFrame) -> str | None:
    """The learned supermask with the best mean validation accuracy at its early stop (never chosen on test)."""
    rows = summary.distinct(learned[learned["level"] == 0]).dropna(subset=["early_stop_val_acc"])
    return None if rows.empty else str(rows.groupby("arm")["early_stop_val_acc"].mean().idxmax())


def learned_table(learned: pd.DataFrame, criteria: pd.DataFrame) -> pd.DataFrame:
    """Per learned supermask: density, accuracy, and paired differences with the trained dense network and with
    the large_final ticket whose size is nearest that density (same trials, same θ0).

    The density is the one at the early-stop evaluation the accuracy comes from: for a sampled mask, its expected
    fraction of weights kept (the mean of sigmoid(score)); else the stored mask's.
    """
    rows = []
    dense = trials_of(criteria, zhou.REFERENCE, 0)
    for label in dict.fromkeys(learned["arm"]):
        mine = trials_of(learned, label, 0)
        percent = learned_percent(mine)
        ticket = trials_of(criteria, zhou.REFERENCE, nearest_level(criteria, zhou.REFERENCE, percent))
        rows.append(
            {
                "supermask": label,
                "weights kept (%)": f"{percent:.1f}",
                "test accuracy (%)": f"{100 * mine['early_stop_test_acc'].mean():.2f}",
                "minus trained dense (points)": claims.compare(mine, dense, claims.ACCURACY).text(100),
                "ticket at": f"{float(ticket['percent'].mean()):.1f} %",
                "minus that ticket (points)": claims.compare(mine, ticket, claims.ACCURACY).text(100),
            }
        )
    return pd.DataFrame(rows)


def best_untrained_sentence(init: pd.DataFrame) -> str:
    """One sentence: for each start of :func:`by_start`, the criterion and size whose untrained network has the
    best mean validation accuracy (never chosen on test), with its mean test accuracy there."""
    parts = []
    for start, frame in by_start(init).items():
        pruned = summary.distinct(frame[frame["level"] > 0])
        if pruned.empty:
            continue
        means = pruned.groupby(["arm", "level"])[["early_stop_val_acc", "early_stop_test_acc", "percent"]].mean()
        means = means.dropna(subset=["early_stop_val_acc"])
        if means.empty:
            continue
        arm, level = means["early_stop_val_acc"].idxmax()
        best = means.loc[(arm, level)]
        parts.append(
            f"with {start}, {arm} at {best['percent']:.1f} % of the weights: "
            f"{100 * best['early_stop_test_acc']:.1f} % test accuracy"
        )
    if not parts:
        return "No untrained masked network was evaluated."
    return (
        "Chosen on validation, the best untrained masked networks are, "
        + "; ".join(parts)
        + f" (chance is {100 * CHANCE:g} %)."
    )


def best_learned_sentence(learned: pd.DataFrame) -> str:
    """One sentence: the learned supermask with the best mean validation accuracy at early stop, its mean test
    accuracy and the fraction of weights its mask keeps there."""
    rows = summary.distinct(learned[learned["level"] == 0])
    if rows.empty:
        return "No supermask was learned."
    if "early_stop_density" not in rows:
        rows = rows.assign(early_stop_density=float("nan"))
    means = rows.groupby("arm")[["early_stop_val_acc", "early_stop_test_acc", "early_stop_density", "percent"]].mean()
    means = means.dropna(subset=["early_stop_val_acc"])
    if means.empty:
        return "No supermask was learned."
    arm = means["early_stop_val_acc"].idxmax()
    best = means.loc[arm]
    kept = 100 * best["early_stop_density"] if pd.notna(best["early_stop_density"]) else best["percent"]
    return (
        f"Chosen on validation, the best learned supermask is {arm}: {100 * best['early_stop_test_acc']:.1f} % test "
        f"accuracy, its mask keeping {kept:.1f} % of the weights."
    )


def _beside(init: pd.DataFrame, arm: str, level: int, rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """``rows`` (one value per trial) as arm ``label`` at ``arm``'s ``level`` in ``init``: a level and size to be
    compared at, the arm's own share of weights kept."""
    at = summary.distinct(init[(init["arm"] == arm) & (init["level"] == level)])
    placed = rows.assign(arm=label, level=level, percent=float(at["percent"].mean()), copy_of_dense=False)
    return pd.concat([init, placed], ignore_index=True)


def supermask_claims(init: pd.DataFrame, learned: pd.DataFrame) -> list[claims.Judged]:
    """Zhou et al.'s supermask conclusions, each tested where its arms were run; one table, one family.

    A comparison between masks at initialisation is made at each size :func:`lthlib.analysis.zhou.judged_sizes`
    names; one with a single mask at initialisation (against chance, against a learned supermask) at the size
    whose untrained network has the best mean validation accuracy, never chosen on test.
    """
    same_sign, constant = SAME_SIGN
    arms, learned_arms = set(init["arm"]), set(learned["arm"])
    sizes = zhou.judged_sizes(init) if len(init[init["level"] > 0]) else ()
    judged = []
    if constant in arms:
        level = best_level(init, constant)
        chance = summary.distinct(init[(init["arm"] == constant) & (init["level"] == level)])
        frame = _beside(init, constant, level, chance.assign(early_stop_test_acc=CHANCE), CHANCE_ARM)
        claim = claims.PaperClaim(
            "an untrained network under the same-sign mask with signed constants is above chance",
            SUPERMASK_WHERE,
            "86 % on MNIST (abstract)",
            constant,
            CHANCE_ARM,
            claims.ACCURACY,
            ABOVE,
            levels=(float(chance["percent"].mean()),),
            compared=f"masked untrained network − chance ({100 * CHANCE:g} %)",
            kind="above chance",
        )
        judged += claims.tested(claim, frame)
    pairs = (
        (same_sign, zhou.REFERENCE, "before training, the same-sign mask beats large_final's"),
        (constant, same_sign, "before training, signed constants beat the initial values under the same-sign mask"),
    )
    for a, b, says in pairs:
        if {a, b} <= arms:
            claim = claims.PaperClaim(
                says,
                SUPERMASK_WHERE,
                zhou.FIGURE_ONLY,
                a,
                b,
                claims.ACCURACY,
                ABOVE,
                levels=sizes,
                compared=f"{a} − {b}",
                kind=f"{a} against {b}",
            )
            judged += claims.tested(claim, init)
    for start, init_arm in (("signed_constant", constant), ("original", same_sign)):
        for method in supermask.MODES:
            label = f"{method}, {start}"
            if label not in learned_arms or init_arm not in arms:
                continue
            level = best_level(init, init_arm)
            frame = _beside(init, init_arm, level, trials_of(learned, label, 0).reset_index(), label)
            ours = not method.startswith("bernoulli")  # edge-popup is Ramanujan et al.'s, not Zhou et al.'s
            claim = claims.PaperClaim(
                f"a learned supermask ({label}) beats the untrained same-sign mask with the same start",
                "the book's question (edge-popup is not in Zhou et al.)" if ours else LEARNED_WHERE,
                "" if ours else zhou.NOT_CHECKED,
                label,
                init_arm,
                claims.ACCURACY,
                ABOVE,
                levels=(float(frame.loc[frame["arm"] == label, "percent"].mean()),),
                compared=f"{label} − {init_arm}",
                kind="learned beats untrained",
            )
            judged += claims.tested(claim, frame)
    for start in ("original", "signed_constant"):
        plain, rescaled = f"bernoulli, {start}", f"bernoulli_rescaled, {start}"
        if {plain, rescaled} <= learned_arms:
            # each learns its own share of the weights: the size shown is the plain one's, at its early stop
            size = learned_percent(trials_of(learned, plain, 0))
            pair = learned[learned["arm"].isin([plain, rescaled])].assign(percent=size)
            claim = claims.PaperClaim(
                f"dynamic weight rescaling improves a learned supermask ({start}; each learns its own size)",
                LEARNED_WHERE,
                zhou.NOT_CHECKED,
                rescaled,
                plain,
                claims.ACCURACY,
                ABOVE,
                levels=(size,),
                compared=f"{rescaled} − {plain}",
                kind="rescaling improves",
            )
            judged += claims.tested(claim, pair)
    return claims.judge(judged)


def verdict_groups(book) -> dict[str, list[claims.Judged]]:
    """The supermask chapter's verdicts by the groups the conclusions name
    (:data:`lthlib.analysis.conclusions.POINTS`): its untrained masks and learned supermasks, judged by
    :func:`supermask_claims`."""
    init = at_init(zhou.frame(zhou.results(book, groups=("untrained",))["untrained"]))
    learned = learned_frame(learned_results(book))
    return {"supermasks": supermask_claims(init, learned)}
