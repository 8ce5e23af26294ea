"""Tidy tables from stored records, and the few numbers the book quotes from them.

``runs_frame`` has one row per trained network; ``curves_frame`` one row per
network and evaluation point. Percentages are of the prunable weights.
"""

from __future__ import annotations

import pandas as pd


def runs_frame(record: dict, **columns) -> pd.DataFrame:
    """One row per run: level, arm, trial, percent remaining, early-stop iteration and accuracies.

    ``columns`` are added as constant columns (e.g. ``network="conv2"``) to
    combine several records in one frame.
    """
    rows = []
    for run in record["runs"]:
        rows.append({
            "level": run["level"], "arm": run["arm"], "trial": run["trial"],
            "percent": 100 * run["remaining"],
            "early_stop_iteration": run["early_stop"]["iteration"],
            "early_stop_test_acc": run["early_stop"]["test_acc"],
            "early_stop_val_acc": run["early_stop"]["val_acc"],
            "final_test_acc": run["final"]["test_acc"],
            **columns,
        })
    frame = pd.DataFrame(rows)
    return with_dense_baseline(frame)


def with_dense_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """Repeat level 0 (the dense network) under every arm so each line starts at 100 %."""
    dense = frame[frame["level"] == 0]
    copies = [dense.assign(arm=arm) for arm in frame["arm"].unique() if arm != "ticket"]
    return pd.concat([frame, *copies], ignore_index=True)


def curves_frame(record: dict, levels=None, arm: str = "ticket") -> pd.DataFrame:
    """One row per evaluation point of ``arm``'s runs at ``levels`` (all when ``None``)."""
    rows = []
    for run in record["runs"]:
        if run["arm"] != arm or (levels is not None and run["level"] not in levels):
            continue
        curve = run["curve"]
        for i, iteration in enumerate(curve["iteration"]):
            rows.append({"level": run["level"], "trial": run["trial"], "percent": 100 * run["remaining"],
                         "iteration": iteration, **{key: curve[key][i] for key in curve if key != "iteration"}})
    return pd.DataFrame(rows)


def level_nearest(record: dict, percent: float) -> int:
    """The pruning level whose tickets keep the fraction of weights closest to ``percent``."""
    remaining = {run["level"]: 100 * run["remaining"] for run in record["runs"] if run["arm"] == "ticket"}
    return min(remaining, key=lambda level: abs(remaining[level] - percent))


def mean(frame: pd.DataFrame, column: str, **where) -> float:
    """Mean of ``column`` over the rows matching every ``where`` (e.g. ``arm="ticket", level=3``), as a float."""
    selected = frame
    for key, value in where.items():
        selected = selected[selected[key] == value]
    if selected.empty:
        raise KeyError(f"no rows with {where}")
    return float(selected[column].mean())


def by_level(frame: pd.DataFrame, column: str, arm: str = "ticket") -> pd.DataFrame:
    """Mean and standard deviation of ``column`` per level for ``arm``, with percent remaining."""
    selected = frame[frame["arm"] == arm]
    table = selected.groupby("level").agg(percent=("percent", "mean"), mean=(column, "mean"), std=(column, "std"),
                                          trials=(column, "size"))
    return table.reset_index()


def combine(frames: dict) -> pd.DataFrame:
    """Stack frames, relabelling each one's ``arm`` column with its key (e.g. iterative vs one-shot)."""
    return concat([frame.assign(arm=label) for label, frame in frames.items()])


def concat(frames) -> pd.DataFrame:
    return pd.concat(list(frames), ignore_index=True)


def describe_scale(record: dict) -> str:
    """The settings a record was trained at, in one sentence."""
    c = record["config"]
    test = f"the first {c['test_subset']:,} test images" if c["test_subset"] else "the full test set"
    train = f"{c['train_subset']:,} training images" if c["train_subset"] else "the full training split"
    return (f"{c['network']}: {c['iterations']:,} iterations of {c['optimizer']} (lr {c['lr']:g}, batch "
            f"{c['batch_size']}), {_count(c['trials'], 'trial')}, {_count(c['levels'], 'pruning round')}, "
            f"{c['precision']} products, "
            f"{train}, {c['val_size'] or 'the default'} validation images, {test}.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def architecture_table(input_shape, num_classes: int, networks=("lenet", "conv2", "conv4", "conv6")) -> pd.DataFrame:
    """Layers, weights per layer and pruning rate per round of each network, for inputs of ``input_shape``."""
    from . import models
    from .config import PAPER_SETTINGS

    rows = []
    for network in networks:
        arch = models.build(network, input_shape, num_classes)
        rates = {"conv": PAPER_SETTINGS[network]["conv_rate"], "fc": PAPER_SETTINGS[network]["fc_rate"],
                 "output": PAPER_SETTINGS[network]["output_rate"]}
        for layer in arch.layers:
            rows.append({"network": network, "layer": layer.name, "weight shape": " x ".join(map(str, layer.shape)),
                         "weights": models.parameter_count(arch)[layer.name],
                         "pruned per round": f"{100 * rates[layer.kind]:g} %"})
    return pd.DataFrame(rows)


def protocol_table(scale: str, networks=("lenet", "conv2", "conv4", "conv6")) -> pd.DataFrame:
    """Optimiser, learning rate, batch, iterations and evaluation interval of each network at ``scale``."""
    from .config import ExperimentConfig, resolve

    rows = []
    for network in networks:
        c = resolve(ExperimentConfig(network=network, scale=scale))
        rows.append({"network": network, "optimiser": c.optimizer, "learning rate": c.lr, "batch": c.batch_size,
                     "iterations": c.iterations, "evaluated every": c.eval_every, "default trials": c.trials})
    return pd.DataFrame(rows)
