"""The one progress bar of training, shared by the chapters and the command line.

It is a tqdm bar (``tqdm.auto``: a widget in Jupyter where available, else
text on stderr) with the two methods an experiment reports progress to
(:func:`lthlib.engine.experiments.result` and
:func:`lthlib.engine.joint.compute_together`): ``advance(steps)`` after
training steps and ``resumed(level)`` when a run resumes after a finished
pruning level. It is drawn only once training starts, so a result read from
the store shows nothing, and it counts steps as
:func:`lthlib.engine.experiments.total_steps` does: the iterations of each
group of levels that trains together (:func:`lthlib.engine.levels.cohort_levels`).
"""

from __future__ import annotations

import sys
import warnings

from ..engine import experiments
from ..engine.config import ExperimentConfig, resolve
from ..engine.levels import cohort_levels


class ProgressBar:
    """A bar over the optimiser steps of ``config`` (resolved here), redrawn at most once a second and labelled
    ``training imp lenet (fashion-mnist, smoke)``.

    Use it as a context manager, or call :meth:`close`; :attr:`started` says whether anything trained.
    """

    def __init__(self, config: ExperimentConfig):
        self.config = resolve(config)
        self.total = experiments.total_steps(self.config)
        self.bar = None

    @property
    def started(self) -> bool:
        """Whether training started (and the bar was drawn)."""
        return self.bar is not None

    def _open(self):
        if self.bar is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tqdm.auto warns when ipywidgets is missing, then uses text
                from tqdm.auto import tqdm
            c = self.config
            self.bar = tqdm(
                total=self.total,
                unit="step",
                mininterval=1.0,
                dynamic_ncols=True,
                desc=f"training {c.experiment} {c.network} ({c.dataset}, {c.scale})",
            )
        return self.bar

    def advance(self, steps: int) -> None:
        self._open().update(steps)

    def resumed(self, level: int) -> None:
        """Count the levels finished before an interruption (or in a shorter stored sweep) as done."""
        bar = self._open()
        bar.write(f"resuming after finished level {level}", file=sys.stderr)
        finished = [group for group in cohort_levels(self.config) if group[-1] <= level]
        bar.update(min(len(finished) * self.config.iterations, bar.total) - bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
