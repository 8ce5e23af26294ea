"""The figures: bands over trials, one legend, and colours that keep their meaning (:mod:`lthlib.analysis.plots`)."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from frames import GOOD, ROWS, frame

from lthlib.analysis import stats


def test_the_spread_is_a_band_from_five_trials_and_every_trial_below():
    from lthlib.analysis import plots

    assert plots.spread(GOOD, ["arm", "level"]) == plots.BAND
    assert plots.spread(frame(ROWS, trials=3), ["arm", "level"]) == plots.TRIAL_LINES


def test_a_figure_band_is_the_t_interval_over_trials_the_claims_use():
    from lthlib.analysis import plots

    accuracy = [0.1, 0.2, 0.3, 0.4, 0.5]
    curves = pd.DataFrame(
        [(trial, 0, 0.3) for trial in range(5)] + [(trial, 100, accuracy[trial]) for trial in range(5)],
        columns=["trial", "iteration", "test_acc"],
    ).assign(arm="ticket")
    ax = plots.over_training(curves, "test_acc", "test accuracy")
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # zero width at iteration 0, where every trial is 0.3
    low, high = stats.t_interval(accuracy)
    assert high - 0.3 == pytest.approx(2.7764451 * (0.025**0.5) / 5**0.5)  # t(0.975, 4) sd/sqrt(n)
    assert (band.min(), band.max()) == pytest.approx((low, high))
    plots.plt.close(ax.get_figure())


def test_a_figure_gets_one_legend_below_its_panels():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots

    fig, (left, right) = plots.side_by_side(2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], label="ticket")
        ax.plot([0, 1], [1, 0], label="reinit")
        ax.legend()
    plots.finish(fig)
    assert left.get_legend() is None and right.get_legend() is None
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ticket", "reinit"]


def test_every_criterion_keeps_its_colour_in_every_figure():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots
    from lthlib.engine import masks

    palette = plots.criterion_palette()
    assert set(palette) == set(masks.CRITERIA)
    nearest = min(math.dist(a, b) for a, b in itertools.combinations(palette.values(), 2))
    assert nearest > 0.15  # ten lines in one figure, each told apart at a glance (two greys were 0.14 apart)
    rows = [(level, arm, p, 500, 0.8) for level, p in ((1, 51.3), (2, 21.1)) for arm in ("random", "movement")]
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=palette)
    legend = {
        text.get_text(): handle.get_color()
        for text, handle in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)
    }
    assert list(legend) == ["movement", "random"]  # the palette's order
    assert matplotlib.colors.to_rgb(legend["random"]) == palette["random"]
    actions = plots.action_palette(["original", "reinit", "signed_reinit"])  # reinit as a mask-1 action, not relabelled
    rows = [(level, arm, p, 500, 0.8) for level, p in ((1, 51.3), (2, 21.1)) for arm in actions]
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=actions)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(actions)
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=plots.arm_palette())
    assert "random reinit" in [text.get_text() for text in ax.get_legend().get_texts()]  # a control keeps its label


def test_every_arm_of_the_review_keeps_one_colour_and_the_ticket_that_of_large_final():
    from lthlib.analysis import plots

    palette = plots.arm_palette()
    assert list(palette)[:2] == ["winning ticket", "rewound"] and "mask from the source" in palette
    assert len(set(palette.values())) == len(palette) == len(plots.ARM_ORDER)
    assert palette["winning ticket"] == plots.criterion_palette()["large_final"]
    extended = plots.extended_palette(plots.criterion_palette(), ["movement", "another θ0"])
    assert extended["movement"] == plots.criterion_palette()["movement"] and "another θ0" in extended


def test_the_masks_compared_with_a_ticket_are_told_apart_and_the_criteria_keep_their_colours():
    from lthlib.analysis import plots

    palette = plots.comparison_palette()
    assert list(palette) == list(plots.COMPARISON_ORDER)
    assert min(math.dist(a, b) for a, b in itertools.combinations(palette.values(), 2)) > 0.15
    for criterion in ("magnitude_increase", "movement"):
        assert palette[criterion] == plots.criterion_palette()[criterion]


def test_a_narrow_panel_labels_fewer_sizes_and_always_the_sparsest():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots

    sizes = [100 * 0.8**k for k in range(23)]
    labels = {}
    for panels, width in ((3, 12.0), (1, 8.0)):
        fig, axes = plots.side_by_side(panels, width=width)
        plots._percent_axis(axes[0], sizes)
        labels[panels] = [float(t.get_text()) for t in axes[0].get_xticklabels()]
    assert 3 <= len(labels[3]) < len(labels[1]) <= 9
    assert all(shown[0] == 100 and shown[-1] == round(sizes[-1], 1) for shown in labels.values())
    ratios = [a / b for shown in labels.values() for a, b in zip(shown, shown[1:])]
    assert min(ratios) > 1.5  # no two labels crowd each other on the log axis
