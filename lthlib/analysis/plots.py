"""The book's figures: one seaborn style, means with 95 % confidence bands across trials.

Functions take tidy frames from :mod:`lthlib.analysis.summary` and return the
matplotlib ``Axes`` they drew on. A band is the 95 % Student t-interval of
the mean over trials (:func:`lthlib.analysis.stats.t_interval`), the interval the
claims' verdicts use; nothing random goes into a figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import FixedLocator, NullLocator, PercentFormatter

from . import stats

ARM_LABELS = {
    "ticket": "winning ticket",
    "reinit": "random reinit",
    "random_prune": "random pruning",
    "oneshot": "one-shot ticket",
    "iterative": "iterative ticket",
    "dense": "dense",
    "rewind": "rewound",
    "finetune": "fine-tuned",
    "finetune_low": "fine-tuned, lr / 10",
    "swapped": "mask of another trial",
    "transferred": "mask from the source",
}
# One colour per mask criterion of Zhou et al., the same in every figure (seaborn's colorblind palette, then grey).
CRITERION_ORDER = (
    "large_final",
    "magnitude_increase",
    "movement",
    "large_init_large_final",
    "large_init",
    "random",
    "small_init",
    "small_final",
    "small_init_small_final",
    "large_final_same_sign",
)


def criterion_palette() -> dict[str, tuple]:
    """``{criterion: colour}`` for every criterion of :data:`CRITERION_ORDER`."""
    colours = sns.color_palette("colorblind", 9) + [(0.1, 0.1, 0.1)]  # colorblind's 8th is already grey
    return dict(zip(CRITERION_ORDER, colours))


# The arms of the review's figures, in legend order: the ticket first, then what starts elsewhere, then the controls.
ARM_ORDER = (
    "ticket",
    "rewind",
    "finetune",
    "finetune_low",
    "swapped",
    "transferred",
    "reinit",
    "random_prune",
    "random",
    "dense",
)


def arm_palette() -> dict[str, tuple]:
    """``{arm label: colour}`` (labels of :data:`ARM_LABELS`) for every arm of :data:`ARM_ORDER`, the same in every
    figure: the ticket in large_final's colour, the random criterion's masks in random's."""
    return extended_palette(
        {"ticket": criterion_palette()["large_final"], "random": criterion_palette()["random"]}, ARM_ORDER, ARM_LABELS
    )


# The masks a ticket's mask is compared with in the review's overlap figure: the criteria in their own colours.
COMPARISON_ORDER = ("another θ0", "another data order", "magnitude_increase", "movement", "one-shot")


def comparison_palette() -> dict[str, tuple]:
    """``{comparison: colour}`` for :data:`COMPARISON_ORDER`: magnitude_increase and movement as in every criterion
    figure, another θ0's large_final tickets in large_final's, the others in colours far from all three."""
    criteria = criterion_palette()
    return {
        "another θ0": criteria["large_final"],
        "another data order": sns.color_palette("colorblind", 10)[9],
        "magnitude_increase": criteria["magnitude_increase"],
        "movement": criteria["movement"],
        "one-shot": sns.color_palette("Dark2", 8)[2],
    }


def half_palette() -> dict[str, tuple]:
    """``{arm: colour}`` of the halves figure: a half's own masks in large_final's colour, the other half's apart."""
    return extended_palette({"own": criterion_palette()["large_final"]}, ("own", "other half"))


def extended_palette(base: dict[str, tuple], names, labels: dict[str, str] | None = None) -> dict[str, tuple]:
    """``base`` for the ``names`` it has, the next colours of seaborn's Dark2 for the others, in the order of
    ``names``; keys renamed by ``labels`` where given."""
    fresh = iter(sns.color_palette("Dark2", 8))
    colours = {name: base[name] if name in base else next(fresh) for name in names}
    return {(labels or {}).get(name, name): colour for name, colour in colours.items()}


def action_palette(names) -> dict[str, tuple]:
    """``{action: colour}`` for mask-1 or mask-0 ``names``, the first (the ticket's own) in large_final's colour."""
    names = list(names)
    return dict(zip(names, [criterion_palette()["large_final"], *sns.color_palette("Set2", len(names) - 1)]))


BAND = dict(errorbar=stats.t_interval)
TRIAL_LINES = dict(units="trial", estimator=None, alpha=0.7, linewidth=1)
REFERENCE_LEVELS = (100, 51.3, 21.1, 7.0, 3.6, 1.9)


def style() -> None:
    """The book's one style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=1.15)
    plt.rcParams.update(
        {
            "figure.figsize": (7.5, 4.2),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.titlesize": "medium",
            "legend.fontsize": "medium",
        }
    )


def _percent_axis(ax, values) -> None:
    """Log-scale 'percent of weights remaining', densest on the left as in the papers."""
    ax.set_xscale("log")
    ticks = []
    for value in sorted({round(v, 1) for v in values}, reverse=True):
        if not ticks or ticks[-1] / value > 1.15:  # drop ticks that would overlap on the log axis
            ticks.append(value)
    inches = ax.get_figure().get_figwidth() * ax.get_position().width
    limit = max(3, min(8, int(2 * inches)))  # labels of about five characters: one per half inch of axis at most
    step = -(-len(ticks) // limit)
    shown = ticks[::step]
    if shown[-1] != ticks[-1]:  # the sparsest size is always labelled, in place of a label too close to it
        shown = shown[:-1] + [ticks[-1]] if len(ticks) - 1 - ticks.index(shown[-1]) <= step / 2 else shown + [ticks[-1]]
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in shown])
    ax.set_xlim(max(values) * 1.15, min(values) / 1.15)
    ax.set_xlabel("weights remaining (%)")


def _zoom_past_first_evaluation(ax, curves, metric: str) -> None:
    """Fit the y axis to the values after iteration 0, as the paper's curves do, so trained nets can be told apart."""
    later = curves[curves["iteration"] > 0][metric]
    low, high = later.quantile(0.01), later.quantile(0.99)
    margin = 0.1 * (high - low)
    ax.set_ylim(low - margin, high + margin)


def _accuracy_axis(ax, column: str) -> None:
    """Fractions (accuracies, their generalisation gap, the density of a mask) shown as percentages."""
    if column.endswith("acc") or column in ("density", "gap"):
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))


def spread(frame, groups: list[str]) -> dict:
    """How to show the spread over trials: a 95 % t-interval band from 5 trials on, else every trial's line.

    ``groups``: the columns whose every combination is one line (e.g. arm and level).
    """
    trials = frame.groupby([g for g in groups if g in frame.columns])["trial"].nunique()
    return BAND if trials.min() >= stats.MIN_TRIALS else TRIAL_LINES


def versus_remaining(
    frame,
    y: str,
    ylabel: str,
    hue: str = "arm",
    ax=None,
    title: str | None = None,
    style: str | None = None,
    palette: dict | None = None,
):
    """Mean of ``y`` against percent remaining (log axis), one line per ``hue`` (and ``style``).

    The band is a 95 % interval over trials; with fewer than 5 trials every trial is drawn instead.
    ``palette``: ``{hue value: colour}`` (e.g. :func:`criterion_palette`), which also orders the legend.
    """
    ax = ax or plt.subplots()[1]
    if "arm" in frame.columns:  # arms get their labels, unless the palette names them as they are (mask-1 reinit)
        named = set(palette or ())
        frame = frame.assign(arm=frame["arm"].map(lambda a: a if a in named else ARM_LABELS.get(a, a)))
    how = spread(frame, [hue, style, "level"])
    if palette is not None:
        palette = {key: colour for key, colour in palette.items() if key in set(frame[hue])}
        how = {**how, "palette": palette, "hue_order": list(palette)}
    sns.lineplot(data=frame, x="percent", y=y, hue=hue, style=style, marker="o", markersize=4, ax=ax, **how)
    _percent_axis(ax, frame["percent"].tolist())
    _accuracy_axis(ax, y)
    ax.set_ylabel(ylabel)
    ax.legend(title=None)
    if title:
        ax.set_title(title)
    return ax


def learning_curves(curves, metric: str, ylabel: str, ax=None, title: str | None = None):
    """``metric`` against training iteration, one line per percent remaining, 95 % band over trials.

    With fewer than 5 trials every trial is drawn instead of a band.
    """
    frame = curves.assign(remaining=curves["percent"].map(lambda p: f"{p:.1f}%"))
    order = [f"{p:.1f}%" for p in sorted(curves["percent"].unique(), reverse=True)]
    ax = over_training(
        frame, metric, ylabel, hue="remaining", ax=ax, title=title, zoom=True, hue_order=order, palette="viridis"
    )
    ax.legend(title="weights remaining", ncols=2)
    return ax


def over_training(
    curves,
    metric: str,
    ylabel: str,
    hue: str = "arm",
    style: str | None = None,
    ax=None,
    title: str | None = None,
    zoom: bool = False,
    **line_options,
):
    """``metric`` against training iteration, one line per ``hue`` (and ``style``) value, 95 % band over trials.

    With fewer than 5 trials every trial is drawn instead of a band. ``zoom`` fits the y axis to the values after
    iteration 0.
    """
    ax = ax or plt.subplots()[1]
    how = spread(curves, [hue, style, "iteration"])
    sns.lineplot(data=curves, x="iteration", y=metric, hue=hue, style=style, ax=ax, **how, **line_options)
    ax.set_xlabel("training iteration")
    if zoom:
        _zoom_past_first_evaluation(ax, curves, metric)
    _accuracy_axis(ax, metric)
    ax.set_ylabel(ylabel)
    ax.legend(title=None)
    if title:
        ax.set_title(title)
    return ax


def scatter(frame, x: str, y: str, xlabel: str, ylabel: str, hue: str, ax=None, log_x: bool = False):
    """Every row of ``frame`` as a point, coloured by ``hue`` (e.g. accuracy against the bits a network was given)."""
    ax = ax or plt.subplots()[1]
    sns.scatterplot(data=frame, x=x, y=y, hue=hue, ax=ax, s=25, alpha=0.8)
    if log_x:
        ax.set_xscale("log")
    _accuracy_axis(ax, y)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title=None)
    return ax


# The three verdicts in the colours of a traffic light: supported green, not supported red, inconclusive grey.
def side_by_side(n: int = 2, width: float = 10.0, height: float = 4.0):
    """A figure with a row of ``n`` panels (inches; constrained layout); returns the figure and its ``n`` axes.

    Call :func:`finish` once the panels are drawn.
    """
    fig, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def finish(fig) -> None:
    """Replaces the panels' legends by one legend below them, so that no legend covers a line.

    The panels of a figure share their legend (same arms or sizes), so the first panel's is kept.
    """
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    if not legends:
        return
    first = legends[0]
    handles, labels, title = first.legend_handles, [t.get_text() for t in first.get_texts()], first.get_title()
    title = title.get_text() or None
    for legend in legends:
        legend.remove()
    fig.legend(handles, labels, title=title, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)


def examples(dataset, class_names, per_class: int = 1):
    """The first training example of each class: images as a grid, 1-D signals as lines."""
    fig, axes = plt.subplots(
        per_class, dataset.num_classes, figsize=(1.3 * dataset.num_classes, 1.5 * per_class), squeeze=False
    )
    for label in range(dataset.num_classes):
        found = (dataset.train.y == label).nonzero().flatten()[:per_class]
        for row, index in enumerate(found.tolist()):
            ax = axes[row][label]
            x = dataset.train.x[index].cpu()
            if x.dim() == 3:
                image = x.permute(1, 2, 0).squeeze(-1)
                ax.imshow((image - image.min()) / (image.max() - image.min()), cmap="gray_r")
            else:
                ax.plot(x.numpy(), linewidth=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if row == 0:
                ax.set_title(class_names[label], fontsize="small")
    fig.tight_layout()
    return fig
