"""The Lottery Ticket chapter's runs and verdicts, asked of the store; the conclusions chapter reads them too."""

from __future__ import annotations

from ..engine.models import NETWORK_NAMES
from . import claims, hypotheses, summary


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


FC = "Frankle & Carbin"
SOONER = hypotheses.Hypothesis("less")  # a − b < 0 in iterations: a reaches its lowest validation loss sooner
ABOVE, BELOW = hypotheses.Hypothesis("greater"), hypotheses.Hypothesis("less")
# "Back at the dense network's accuracy" is an equivalence: within half the gain the paper reports at 13.5 %, so that
# a ticket inside the margin has given most of that gain back. The margin is fixed here, before any run is read.
PAPER_GAIN = 0.003  # "more than 0.3 percentage points" at 13.5 % (Frankle & Carbin, Section 2)
BACK_AT_DENSE = hypotheses.Hypothesis(
    "equivalent",
    margin=PAPER_GAIN / 2,
    why="half the paper's gain at 13.5 % (0.3 points)",
    effect=PAPER_GAIN,
)

# Frankle & Carbin's claims on LeNet-300-100 (Section 2, Figures 1, 3 and 4), at the sizes of their figures: the
# shares of all weights after 3, 7, 9, 12, 15, 16 and 18 rounds (51.3, 21.1, 13.5, 7.0, 3.6, 2.9, 1.9 %).
AGAINST_DENSE = (
    claims.PaperClaim(
        "tickets reach their lowest validation loss sooner than the dense network",
        f"{FC}, §2 (iterative pruning), Fig. 4a",
        "38 % sooner at 21.1 %",
        "ticket",
        claims.DENSE,
        claims.ITERATION,
        SOONER,
        levels=(51.3, 21.1),
        at=21.1,
        kind="sooner",
    ),
    claims.PaperClaim(
        "tickets reach a higher test accuracy than the dense network",
        f"{FC}, §2 (iterative pruning), Fig. 4a",
        "more than +0.3 points at 13.5 %",
        "ticket",
        claims.DENSE,
        claims.ACCURACY,
        ABOVE,
        levels=(51.3, 21.1, 13.5, 7.0),
        effect=PAPER_GAIN,
        at=13.5,
        kind="more accurate",
    ),
    claims.PaperClaim(
        "at 3.6 % the tickets' test accuracy is back at the dense network's",
        f"{FC}, §2 (iterative pruning), Fig. 4a",
        "back at the original's at 3.6 %",
        "ticket",
        claims.DENSE,
        claims.ACCURACY,
        BACK_AT_DENSE,
        levels=(3.6,),
        at=3.6,
        effect=0.0,
        kind="back at dense",
    ),
    claims.PaperClaim(
        "smaller still, the tickets fall below the dense network's test accuracy",
        f"{FC}, §2 (random reinitialization), Fig. 4a",
        "below the original from 2.9 %",
        "ticket",
        claims.DENSE,
        claims.ACCURACY,
        BELOW,
        levels=(2.9, 1.9),
        at=2.9,
        kind="fall below dense",
    ),
)
AGAINST_CONTROLS = (
    claims.PaperClaim(
        "randomly reinitialised tickets reach a lower test accuracy than the tickets",
        f"{FC}, §2 (random reinitialization), Fig. 4a",
        "about 0.5 points lower at 21.1 %; below the original from 21.1 %",
        "ticket",
        "reinit",
        claims.ACCURACY,
        ABOVE,
        levels=(21.1, 13.5, 7.0, 3.6, 1.9),
        effect=0.005,
        at=21.1,
        kind="reinit less accurate",
    ),
    claims.PaperClaim(
        "randomly reinitialised tickets learn more slowly than the tickets",
        f"{FC}, §2 (random reinitialization), Fig. 4a",
        "the ticket stops 2.51 times sooner at 21.1 %",
        "ticket",
        "reinit",
        claims.ITERATION,
        SOONER,
        levels=(21.1, 7.0, 3.6, 1.9),
        at=21.1,
        kind="reinit slower",
    ),
    claims.PaperClaim(
        "randomly pruned networks reach a lower test accuracy than the tickets",
        f"{FC}, §1, Fig. 1",
        "shown in the figure, no number stated",
        "ticket",
        "random_prune",
        claims.ACCURACY,
        ABOVE,
        levels=(21.1, 7.0, 3.6, 1.9),
        kind="random pruning less accurate",
    ),
)
ONESHOT = (
    claims.PaperClaim(
        "one-shot tickets reach their lowest validation loss sooner than the dense network",
        f"{FC}, §2 (one-shot pruning), Fig. 4c",
        "sooner from 67.5 % to 17.6 %",
        "ticket",
        claims.DENSE,
        claims.ITERATION,
        SOONER,
        levels=(51.3, 21.1),
        kind="one-shot sooner",
    ),
    claims.PaperClaim(
        "one-shot tickets reach a higher test accuracy than the dense network",
        f"{FC}, §2 (one-shot pruning), Fig. 4c",
        "more accurate from 95.0 % to 5.17 %",
        "ticket",
        claims.DENSE,
        claims.ACCURACY,
        ABOVE,
        levels=(51.3, 21.1, 7.0),
        kind="one-shot more accurate",
    ),
    claims.PaperClaim(
        "iterative pruning finds tickets more accurate than one-shot pruning at small sizes",
        f"{FC}, §1 and §2 (one-shot pruning), Fig. 4",
        "shown in the figure, no number stated",
        "ticket",
        "ticket",
        claims.ACCURACY,
        ABOVE,
        levels=(7.0, 3.6, 1.9),
        compared="iterative − one-shot tickets",
        kind="iterative against one-shot",
    ),
)


def verdicts(found: dict) -> dict[str, list[claims.Judged]]:
    """Frankle & Carbin's claims on LeNet-300-100, three tables (each one family for Holm's correction): the tickets
    against the dense network, against the two controls, and one-shot pruning."""
    runs = summary.runs_frame(found["imp"])
    oneshot = summary.runs_frame(found["oneshot"])
    return {
        "against dense": claims.judge([j for c in AGAINST_DENSE for j in claims.tested(c, runs)]),
        "against controls": claims.judge([j for c in AGAINST_CONTROLS for j in claims.tested(c, runs)]),
        "one-shot": claims.judge(
            [j for c in ONESHOT[:2] for j in claims.tested(c, oneshot)] + claims.tested(ONESHOT[2], runs, oneshot)
        ),
    }


# Frankle & Carbin's numbers on Conv-2, -4 and -6 (Section 3): the largest speed-up and accuracy gain of the tickets
# over the dense network, and dropout's gain on the dense network.
CONV_NUMBERS = {
    "conv2": ("up to 3.5 times sooner (at 8.8 %)", "up to +3.4 points (at 4.6 %)", "+2.1 points"),
    "conv4": ("up to 3.5 times sooner (at 9.2 %)", "up to +3.5 points (at 11.1 %)", "+3.0 points"),
    "conv6": ("up to 2.5 times sooner (at 15.1 %)", "up to +3.3 points (at 26.4 %)", "+2.4 points"),
}


def conv_claims(network: str, dropout: float) -> tuple[claims.PaperClaim, ...]:
    """Frankle & Carbin's claims on one convolutional run, at every pruned level it holds (their Figures 5 and 6
    cover every size down to about 2 %)."""
    subject = NETWORK_NAMES[network] + (f" with dropout {dropout:g}" if dropout else "")
    sooner, better, _ = CONV_NUMBERS[network]
    where = f"{FC}, §3 ({'dropout' if dropout else 'finding winning tickets'}), Fig. {6 if dropout else 5}"
    return (
        claims.PaperClaim(
            f"{subject}: tickets reach their lowest validation loss sooner than the dense network",
            where,
            sooner,
            "ticket",
            claims.DENSE,
            claims.ITERATION,
            SOONER,
            kind="conv sooner",
        ),
        claims.PaperClaim(
            f"{subject}: tickets reach a higher test accuracy than the dense network",
            where,
            better,
            "ticket",
            claims.DENSE,
            claims.ACCURACY,
            ABOVE,
            kind="conv more accurate",
        ),
        claims.PaperClaim(
            f"{subject}: randomly reinitialised tickets reach a lower test accuracy than the tickets",
            f"{FC}, §3 (random reinitialization), Fig. 5",
            "shown in the figure, no number stated",
            "ticket",
            "reinit",
            claims.ACCURACY,
            ABOVE,
            kind="conv reinit less accurate",
        ),
        claims.PaperClaim(
            f"{subject}: randomly reinitialised tickets learn more slowly than the tickets",
            f"{FC}, §3 (random reinitialization), Fig. 5",
            "shown in the figure, no number stated",
            "ticket",
            "reinit",
            claims.ITERATION,
            SOONER,
            kind="conv reinit slower",
        ),
    )


def dropout_claim(network: str, dropout: float) -> claims.PaperClaim:
    return claims.PaperClaim(
        f"{NETWORK_NAMES[network]}: with dropout {dropout:g}, the dense network reaches a higher test accuracy",
        f"{FC}, §3 (dropout), Fig. 6",
        CONV_NUMBERS[network][2],
        claims.DENSE,
        claims.DENSE,
        claims.ACCURACY,
        ABOVE,
        levels=(100.0,),
        compared="dense network with dropout − without",
        kind="dropout helps",
    )


def conv_verdicts(conv: dict) -> list[claims.Judged]:
    """Frankle & Carbin's claims on each convolutional run of ``conv`` (``{(network, dropout): record}``), at every
    level it holds, and for a run with dropout beside one without, dropout's gain on the dense network: one table,
    one family."""
    judged = []
    for (network, dropout), record in conv.items():
        runs = summary.runs_frame(record)
        judged += [j for c in conv_claims(network, dropout) for j in claims.tested(c, runs)]
        if dropout and (network, 0.0) in conv:
            plain = summary.runs_frame(conv[network, 0.0])
            judged += claims.tested(dropout_claim(network, dropout), runs, plain)
    return claims.judge(judged)


def verdict_groups(book) -> dict[str, list[claims.Claim]]:
    """The chapter's verdicts by the groups the conclusions name (:data:`lthlib.analysis.conclusions.POINTS`): its
    claims on LeNet-300-100 and on each convolutional run."""
    found = results(book)
    return {"lottery": [j for table in verdicts(found).values() for j in table] + conv_verdicts(found["conv"])}
