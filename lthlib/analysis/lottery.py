"""The Lottery Ticket chapter's runs and verdicts, asked of the store; the conclusions chapter reads them too."""

from __future__ import annotations

from . import claims, summary


def results(book) -> dict:
    """The chapter's records: ``imp`` (LeNet with both controls), ``oneshot`` and ``rewound`` (tickets only, the
    ``extra_trials`` and ``extra_levels``), and ``conv``, ``{(network, dropout): record}`` for the ``conv_runs``,
    each with its own settings."""
    p = book.parameters
    lenet = dict(network="lenet", **book.lenet_settings())
    extra = {**lenet, "trials": p.extra_trials, "levels": p.extra_levels}
    return {
        "imp": book.result(experiment="imp", **lenet),
        "oneshot": book.result(experiment="oneshot", controls=(), **extra),
        "rewound": book.result(experiment="imp", controls=(), rewind=p.rewind, **extra),
        "conv": {
            (run.network, run.dropout): book.result(
                experiment="imp", network=run.network, controls=("reinit",), **book.conv_run_settings(run)
            )
            for run in book.conv_runs
        },
    }


def verdicts(found: dict) -> list[claims.Claim]:
    """Frankle & Carbin's headline claims on LeNet-300-100, each judged by its rule in :mod:`lthlib.analysis.claims`."""
    runs = summary.runs_frame(found["imp"])
    near21 = summary.level_nearest(found["imp"], 21.1)
    near7 = summary.level_nearest(found["imp"], 7.0)
    return [
        claims.tickets_exist_below(runs),
        claims.faster_and_better_at(runs, near21),
        claims.reinit_loses(runs, near21),
        claims.reinit_loses(runs, near7),
        claims.iterative_beats_oneshot(runs, summary.runs_frame(found["oneshot"])),
    ]


# The paper's finding on its convolutional networks as far as it could be checked here (its abstract), and the
# smallest share of the weights (%) it speaks of.
CONV_FINDING = "faster and more accurate than the dense network above 10-20 % of its size (abstract)"
CONV_FINDING_ABOVE = 20.0


def conv_verdicts(conv: dict) -> list[claims.Claim]:
    """Frankle & Carbin's claims on each convolutional run of ``conv`` (``{(network, dropout): record}``): at its
    deepest level that keeps at least :data:`CONV_FINDING_ABOVE` % of the weights (the sizes the paper's claim
    covers), tickets stop sooner and are more accurate than the dense network, and reinitialised ones lose both
    advantages; for a run with dropout beside one without, dropout and pruning together
    (:func:`lthlib.analysis.claims.dropout_and_pruning`)."""
    found = []
    for (network, dropout), record in conv.items():
        runs = summary.runs_frame(record)
        subject = f"{network} (dropout {dropout:g})" if dropout else network
        pruned = runs[runs["level"] > 0]
        covered = pruned[pruned["percent"] >= CONV_FINDING_ABOVE]
        level = int((covered if len(covered) else pruned)["level"].max())
        found.append(claims.faster_and_better_at(runs, level, subject, CONV_FINDING))
        found.append(claims.reinit_loses(runs, level, subject))
        if dropout and (network, 0.0) in conv:
            plain = summary.runs_frame(conv[network, 0.0])
            found.append(claims.dropout_and_pruning(plain, runs, level, network, dropout))
    return found


def verdict_groups(book) -> dict[str, list[claims.Claim]]:
    """The chapter's verdicts by the groups the conclusions name (:data:`lthlib.analysis.conclusions.POINTS`): its
    claims on LeNet-300-100 and on each convolutional run."""
    found = results(book)
    return {"lottery": verdicts(found) + conv_verdicts(found["conv"])}
