"""The book's figures: one seaborn style, means with 95 % confidence bands across trials.

Functions take tidy frames from :mod:`lthlib.summary` and return the
matplotlib ``Axes`` they drew on. Confidence bands are bootstrapped with a
fixed seed so a re-executed notebook draws the same figure.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

ARM_LABELS = {"ticket": "winning ticket", "reinit": "random reinit", "random_prune": "random pruning",
              "oneshot": "one-shot ticket", "iterative": "iterative ticket", "dense": "dense"}
BAND = dict(errorbar=("ci", 95), n_boot=1000, seed=0)
REFERENCE_LEVELS = (100, 51.3, 21.1, 7.0, 3.6, 1.9)


def style() -> None:
    """The book's one style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.figsize": (7.5, 4.2), "figure.dpi": 110, "savefig.dpi": 110,
                         "axes.titlesize": "medium", "legend.fontsize": "small"})


def _percent_axis(ax, values) -> None:
    """Log-scale 'percent of weights remaining', densest on the left as in the papers."""
    ax.set_xscale("log")
    ticks = sorted({round(v, 1) for v in values}, reverse=True)
    shown = [t for i, t in enumerate(ticks) if i % max(1, len(ticks) // 8) == 0 or t == ticks[-1]]
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in shown])
    ax.set_xlim(max(values) * 1.15, min(values) / 1.15)
    ax.set_xlabel("weights remaining (%)")


def versus_remaining(frame, y: str, ylabel: str, hue: str = "arm", ax=None, title: str | None = None):
    """Mean of ``y`` against percent remaining (log axis), one line per ``hue``, 95 % band over trials."""
    ax = ax or plt.subplots()[1]
    frame = frame.assign(**{hue: frame[hue].map(lambda a: ARM_LABELS.get(a, a))})
    sns.lineplot(data=frame, x="percent", y=y, hue=hue, marker="o", markersize=4, ax=ax, **BAND)
    _percent_axis(ax, frame["percent"].tolist())
    ax.set_ylabel(ylabel)
    ax.legend(title=None)
    if title:
        ax.set_title(title)
    return ax


def learning_curves(curves, metric: str, ylabel: str, ax=None, title: str | None = None):
    """``metric`` against training iteration, one line per percent remaining, 95 % band over trials."""
    ax = ax or plt.subplots()[1]
    frame = curves.assign(remaining=curves["percent"].map(lambda p: f"{p:.1f}%"))
    order = [f"{p:.1f}%" for p in sorted(curves["percent"].unique(), reverse=True)]
    sns.lineplot(data=frame, x="iteration", y=metric, hue="remaining", hue_order=order, ax=ax,
                 palette="viridis", **BAND)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(ylabel)
    ax.legend(title="weights remaining", ncols=2)
    if title:
        ax.set_title(title)
    return ax


def side_by_side(n: int = 2, width: float = 12.0, height: float = 4.2):
    """A row of ``n`` axes sharing nothing, for paired panels (iteration and accuracy)."""
    fig, axes = plt.subplots(1, n, figsize=(width, height))
    return fig, axes
