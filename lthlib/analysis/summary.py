"""Tidy tables from stored records, and the few numbers the book quotes from them.

``runs_frame`` has one row per trained network, plus, for plotting, a copy of
each dense run (level 0) under every control arm so that every arm's line
starts at 100 %. Those copies are marked ``copy_of_dense=True`` and share the
``run`` id of the network they copy; :func:`distinct` drops them, and every
mean here (:func:`mean`, :func:`by_level`) counts each trained network once.
``curves_frame`` has one row per network and evaluation point. Percentages
are of the prunable weights.
"""

from __future__ import annotations

import pandas as pd


def runs_frame(record: dict, **columns) -> pd.DataFrame:
    """One row per run: level, arm, trial, percent remaining, early-stop iteration and accuracies.

    ``init_test_acc`` and ``init_val_acc`` are the accuracies at iteration 0,
    before any training: the network's starting weights under its mask (a
    supermask at initialisation, for a pruned level). ``early_stop_train_acc``
    is the accuracy on the training batches just before the early stop (NaN in
    records without it); ``best_test_acc`` the highest test accuracy of any
    evaluation after iteration 0, which a stop chosen on the test set would
    report (the book never chooses so; it measures how much that would flatter). ``final_*`` are the
    accuracies at the last evaluation.

    ``run`` identifies the trained network (record hash, level, arm, trial);
    ``stopped_at_last_evaluation`` is true when its lowest validation loss came
    at the last evaluation, where early stopping cannot tell whether it would
    have gone on improving. ``columns`` are added as constant columns (e.g.
    ``network="conv2"``) to combine several records in one frame. The dense
    runs are repeated under every control arm (see :func:`with_dense_baseline`).
    """
    identity = record.get("hash") or f"record{id(record)}"
    rows = []
    for run in record["runs"]:
        rows.append(
            {
                "level": run["level"],
                "arm": run["arm"],
                "trial": run["trial"],
                "percent": 100 * run["remaining"],
                "early_stop_iteration": run["early_stop"]["iteration"],
                "early_stop_test_acc": run["early_stop"]["test_acc"],
                "early_stop_val_acc": run["early_stop"]["val_acc"],
                "early_stop_density": run["early_stop"].get("density", float("nan")),
                "final_test_acc": run["final"]["test_acc"],
                "final_val_acc": run["final"].get("val_acc", float("nan")),
                "init_test_acc": _at_start(run["curve"], "test_acc"),
                "init_val_acc": _at_start(run["curve"], "val_acc"),
                "early_stop_train_acc": _at_iteration(run["curve"], "train_acc", run["early_stop"]["iteration"]),
                "best_test_acc": max(run["curve"].get("test_acc", [])[1:], default=float("nan")),
                "stopped_at_last_evaluation": run["early_stop"]["iteration"] == run["curve"]["iteration"][-1],
                "last_evaluation": run["curve"]["iteration"][-1],
                "run": f"{identity}/{run['level']}/{run['arm']}/{run['trial']}",
                "copy_of_dense": False,
                **columns,
            }
        )
    frame = pd.DataFrame(rows)
    return with_dense_baseline(frame)


def _at_iteration(curve: dict, metric: str, iteration: int) -> float:
    """``metric`` at ``iteration`` of ``curve``; NaN when the curve lacks the metric or its value there."""
    if metric not in curve or iteration not in curve["iteration"]:
        return float("nan")
    value = curve[metric][curve["iteration"].index(iteration)]
    return float("nan") if value is None else value


def _at_start(curve: dict, metric: str) -> float:
    """``metric`` at iteration 0 of ``curve``, NaN when the curve does not start there."""
    return curve[metric][0] if metric in curve and curve["iteration"][0] == 0 else float("nan")


def with_dense_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """Repeat level 0 (the dense network) under every arm so each line starts at 100 %; copies are marked.

    The copies carry ``copy_of_dense=True`` and the ``run`` id of their
    original: they are for plotting, and :func:`distinct` removes them.
    """
    if "copy_of_dense" not in frame.columns:
        frame = frame.assign(copy_of_dense=False)
    dense = frame[(frame["level"] == 0) & ~frame["copy_of_dense"]]
    copies = [dense.assign(arm=arm, copy_of_dense=True) for arm in frame["arm"].unique() if arm != "ticket"]
    return pd.concat([frame, *copies], ignore_index=True)


def distinct(frame: pd.DataFrame) -> pd.DataFrame:
    """Each trained network once: the rows of ``frame`` without repeated dense copies.

    A copy is dropped when its original (or another copy of the same run) is
    also in ``frame``; a selection holding only the copies under one arm (e.g.
    ``arm="reinit", level=0``) keeps them, since each is then one network.
    """
    if "run" in frame.columns:
        return frame.drop_duplicates(subset="run", keep="first")
    if "copy_of_dense" in frame.columns:
        return frame[~frame["copy_of_dense"].astype(bool)]
    return frame


def curves_frame(record: dict, levels=None, arm: str = "ticket") -> pd.DataFrame:
    """One row per evaluation point of ``arm``'s runs at ``levels`` (all when ``None``)."""
    rows = []
    for run in record["runs"]:
        if run["arm"] != arm or (levels is not None and run["level"] not in levels):
            continue
        curve = run["curve"]
        for i, iteration in enumerate(curve["iteration"]):
            rows.append(
                {
                    "level": run["level"],
                    "trial": run["trial"],
                    "percent": 100 * run["remaining"],
                    "iteration": iteration,
                    **{key: curve[key][i] for key in curve if key != "iteration"},
                }
            )
    return pd.DataFrame(rows)


def level_nearest(record: dict, percent: float) -> int:
    """The pruning level whose tickets keep the fraction of weights closest to ``percent``."""
    remaining = {run["level"]: 100 * run["remaining"] for run in record["runs"] if run["arm"] == "ticket"}
    return min(remaining, key=lambda level: abs(remaining[level] - percent))


def select(frame: pd.DataFrame, **where) -> pd.DataFrame:
    """The rows matching every ``where`` (e.g. ``arm="ticket", level=3``), each trained network once."""
    selected = frame
    for key, value in where.items():
        selected = selected[selected[key] == value]
    return distinct(selected)


def mean(frame: pd.DataFrame, column: str, **where) -> float:
    """Mean of ``column`` over the trained networks matching every ``where``, each counted once, as a float.

    A boolean column gives the fraction of networks for which it is true.
    """
    selected = select(frame, **where)
    if selected.empty:
        raise KeyError(f"no rows with {where}")
    return float(selected[column].astype(float).mean())


def share_stopping_within(frame: pd.DataFrame, fraction: float = 0.8) -> float:
    """Fraction (0..1) of the distinct runs whose early stop comes within the first ``fraction`` of training."""
    runs = distinct(frame)
    return float((runs["early_stop_iteration"] <= fraction * runs["last_evaluation"]).mean())


def early_stop_summary(frame: pd.DataFrame, length: int) -> str:
    """Where the runs of ``frame`` reach their lowest validation loss, and what that means for training ``length``.

    One or two sentences: mean, first and last early-stopping iteration of the
    distinct runs, the share of their own training that is, and where the
    latest of them falls within a training of ``length`` iterations.
    """
    runs = distinct(frame)
    stops, trained = runs["early_stop_iteration"], int(runs["last_evaluation"].max())
    latest = int(stops.max())
    text = (
        f"Trained for {trained:,} iterations, the {len(runs)} dense networks reach their lowest validation loss "
        f"at iteration {stops.mean():,.0f} on average (from {int(stops.min()):,} to {latest:,}), "
        f"{100 * stops.mean() / trained:.0f} % of the way through."
    )
    if latest > length:
        return text + f" Training for {length:,} iterations would stop some of them before their lowest point."
    inside = "inside" if latest <= 0.8 * length else "beyond"
    return text + (
        f" Within a training of {length:,} iterations, the latest of them falls at {100 * latest / length:.0f} %, "
        f"{inside} the first 80 %."
    )


def count(frame: pd.DataFrame, **where) -> int:
    """How many distinct trained networks match every ``where``."""
    return len(select(frame, **where))


def stopped_within(frame: pd.DataFrame, fraction: float = 0.8) -> int:
    """How many distinct trained networks reach their lowest validation loss within the first ``fraction`` of
    their training (at an iteration no later than ``fraction`` times their last evaluation's)."""
    runs = distinct(frame)
    return int((runs["early_stop_iteration"] <= fraction * runs["last_evaluation"]).sum())


def by_level(frame: pd.DataFrame, column: str, arm: str = "ticket") -> pd.DataFrame:
    """Mean and standard deviation of ``column`` per level for ``arm``, with percent remaining."""
    selected = select(frame, arm=arm)
    table = selected.groupby("level").agg(
        percent=("percent", "mean"), mean=(column, "mean"), std=(column, "std"), trials=(column, "size")
    )
    return table.reset_index()


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, column: str, levels=None) -> float:
    """Mean of ``a - b`` in ``column`` over the (trial, level) pairs both frames hold, as a float.

    ``a`` and ``b`` are runs of one arm each (e.g. tickets of two experiments);
    ``levels`` restricts the pairs (all shared levels when ``None``).
    """
    keys = ["trial", "level"]
    merged = distinct(a)[[*keys, column]].merge(distinct(b)[[*keys, column]], on=keys, suffixes=("_a", "_b"))
    if levels is not None:
        merged = merged[merged["level"].isin(list(levels))]
    if merged.empty:
        raise KeyError(f"the two frames share no (trial, level) pair{'' if levels is None else f' at {levels}'}")
    return float((merged[f"{column}_a"].astype(float) - merged[f"{column}_b"].astype(float)).mean())


def dropout_effect(without: dict, with_dropout: dict) -> dict:
    """What dropout changes between two records of one network (points of test accuracy at early stop).

    ``dense``: mean accuracy of the dense networks with dropout minus without;
    ``gap_without``/``gap_with``: tickets minus their randomly reinitialised
    twins (paired by trial) at the deepest level both records reach, whose
    size is ``percent``. Both records need the ``reinit`` control.
    """
    plain, dropped = runs_frame(without), runs_frame(with_dropout)
    deepest = min(plain["level"].max(), dropped["level"].max())
    accuracy = "early_stop_test_acc"

    def gap(frame):
        return 100 * paired_difference(
            frame[frame["arm"] == "ticket"], frame[frame["arm"] == "reinit"], accuracy, levels=[deepest]
        )

    return {
        "dense": 100 * (mean(dropped, accuracy, arm="ticket", level=0) - mean(plain, accuracy, arm="ticket", level=0)),
        "gap_without": gap(plain),
        "gap_with": gap(dropped),
        "percent": mean(plain, "percent", arm="ticket", level=deepest),
    }


def combine(frames: dict) -> pd.DataFrame:
    """Stack frames, relabelling each one's ``arm`` column with its key (e.g. iterative vs one-shot)."""
    return concat([frame.assign(arm=label) for label, frame in frames.items()])


def concat(frames) -> pd.DataFrame:
    return pd.concat(list(frames), ignore_index=True)


def describe_scale(record: dict) -> str:
    """The settings a record was trained at, in one sentence."""
    from ..engine import data

    c = record["config"]
    unit = data.info(c["dataset"]).unit  # images, or sequences for mnist1d
    test = f"the first {c['test_subset']:,} test {unit}" if c["test_subset"] else "the full test set"
    train = f"{c['train_subset']:,} training {unit}" if c["train_subset"] else "the full training split"
    val = (
        f"{c['val_size']:,} validation {unit}"
        if c["val_size"]
        else f"{data.info(c['dataset']).default_val_size:,} validation {unit} (the default)"
    )
    network = f"{c['network']} with dropout {c['dropout']:g}" if c.get("dropout") else c["network"]
    return (
        f"{network}: {c['iterations']:,} iterations of {c['optimizer']} (lr {c['lr']:g}, batch "
        f"{c['batch_size']}), {_count(c['trials'], 'trial')}, {_count(c['levels'], 'pruning round')}, "
        f"{c['precision']} products, "
        f"{train}, {val}, {test}."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def architecture_table(input_shape, num_classes: int, networks=("lenet", "conv2", "conv4", "conv6")) -> pd.DataFrame:
    """Layers, weights per layer and pruning rate per round of each network, for inputs of ``input_shape``."""
    from ..engine import models
    from ..engine.config import PAPER_SETTINGS

    rows = []
    for network in networks:
        arch = models.build(network, input_shape, num_classes)
        rates = {
            "conv": PAPER_SETTINGS[network]["conv_rate"],
            "fc": PAPER_SETTINGS[network]["fc_rate"],
            "output": PAPER_SETTINGS[network]["output_rate"],
        }
        for layer in arch.layers:
            rows.append(
                {
                    "network": network,
                    "layer": layer.name,
                    "weight shape": " x ".join(map(str, layer.shape)),
                    "weights": models.parameter_count(arch)[layer.name],
                    "pruned per round": f"{100 * rates[layer.kind]:g} %",
                }
            )
    return pd.DataFrame(rows)


def protocol_table(configs) -> pd.DataFrame:
    """Optimiser, learning rate, batch, iterations, evaluation interval and trials of resolved ``configs``.

    One row per config (e.g. :meth:`lthlib.analysis.chapter.Chapter.dense_config` of each network).
    """
    return pd.DataFrame(
        [
            {
                "network": c.network,
                "optimiser": c.optimizer,
                "learning rate": c.lr,
                "batch": c.batch_size,
                "iterations": c.iterations,
                "evaluated every": c.eval_every,
                "trials": c.trials,
                "precision": c.precision,
            }
            for c in configs
        ]
    )
