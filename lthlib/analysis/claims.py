"""The papers' claims, each judged on stored results by a stated rule.

Every function takes tidy frames from :func:`lthlib.analysis.summary.runs_frame` and
returns a :class:`Claim`. Arms are compared trial by trial (the arms of a
trial share their initialisation and data order), with a 95 % t-interval
over the trials and the three-valued verdict of :mod:`lthlib.analysis.stats`:
supported, not supported, inconclusive. Accuracies are early-stop test
accuracies (the test set is read at the iteration the validation loss chose,
never used to choose).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from . import stats
from .summary import distinct

ACCURACY, ITERATION = "early_stop_test_acc", "early_stop_iteration"
MATCH_MARGIN = 0.005  # a ticket "matches" dense when it is surely no more than 0.5 points below it


@dataclass(frozen=True)
class Claim:
    """A claim judged on stored runs: its wording, the paper's finding, ours in numbers, the trials compared, the
    verdict and its rule. ``kind`` names the comparison for code that picks claims (the conclusions' points), so
    that rewording a claim changes no selection: e.g. ``"tickets exist"``, or ``"signed_reinit against reinit"``
    for two arms compared by :func:`arm_ahead`."""

    claim: str
    paper: str
    ours: str
    n: int
    verdict: str
    rule: str
    kind: str = field(kw_only=True)

    def row(self) -> dict:
        return {
            "claim": self.claim,
            "paper": self.paper,
            "this book (95 % interval)": self.ours,
            "n": self.n,
            "verdict": self.verdict,
        }


def _trials(frame: pd.DataFrame, arm: str, level: int) -> pd.DataFrame:
    rows = distinct(frame[(frame["arm"] == arm) & (frame["level"] == level)])
    return rows.set_index("trial").sort_index()


def compare(a: pd.DataFrame, b: pd.DataFrame, column: str) -> stats.Paired:
    """Paired ``a - b`` of ``column`` over the trials both selections hold (rows indexed by trial)."""
    trials = a.index.intersection(b.index)
    if len(trials) == 0:
        raise KeyError("the two selections share no trial")
    a, b = a.loc[trials], b.loc[trials]
    return stats.paired(a[column], b[column], a["stopped_at_last_evaluation"], b["stopped_at_last_evaluation"])


def _percent(frame: pd.DataFrame, level: int) -> float:
    return float(distinct(frame[frame["level"] == level])["percent"].mean())


def _dense(frame: pd.DataFrame) -> pd.DataFrame:
    return _trials(frame, "ticket", 0)


def matching(frame: pd.DataFrame, dense: pd.DataFrame | None = None, arm: str = "ticket") -> dict[int, str]:
    """Per pruned level, the verdict of "``arm`` matches the dense accuracy" (within :data:`MATCH_MARGIN`)."""
    dense = _dense(frame) if dense is None else dense
    levels = sorted(set(frame[(frame["arm"] == arm) & (frame["level"] > 0)]["level"]))
    return {
        level: compare(_trials(frame, arm, level), dense, ACCURACY).verdict(margin=-MATCH_MARGIN) for level in levels
    }


def deepest_match(verdicts: dict[int, str]) -> tuple[int | None, int | None]:
    """(deepest matching level shallower than the fall, first level that surely falls below); ``None`` if absent.

    The fall is the shallowest level whose ticket is surely more than the
    margin below dense. The deepest match is the deepest level before it whose
    ticket surely matches; inconclusive levels in between neither count as a
    match nor stop the search (with five trials a single noisy level can
    leave an interval straddling the margin).
    """
    fall = next((level for level in sorted(verdicts) if verdicts[level] == stats.NOT_SUPPORTED), None)
    before = [level for level in verdicts if (fall is None or level < fall) and verdicts[level] == stats.SUPPORTED]
    return (max(before) if before else None), fall


def tickets_exist_below(frame: pd.DataFrame, bound: float = 20.0) -> Claim:
    verdicts = matching(frame)
    deepest, fall = deepest_match(verdicts)
    dense = _dense(frame)
    n = len(dense)
    unsettled = sum(v == stats.INCONCLUSIVE for level, v in verdicts.items() if fall is None or level < fall)
    if deepest is None:
        ours = "no level surely matches dense"
    else:
        ours = f"match dense down to {_percent(frame, deepest):.1f} %"
    if fall is not None:
        below = compare(_trials(frame, "ticket", fall), dense, ACCURACY)
        ours += f"; fall below at {_percent(frame, fall):.1f} % ({below.text(100, ' points')})"
    else:
        ours += "; still not below dense at the deepest level pruned, so the sweep ended first"
    if unsettled:
        ours += f"; {unsettled} shallower level{'s' if unsettled > 1 else ''} inconclusive"
    if deepest is not None and _percent(frame, deepest) < bound:
        verdict = stats.SUPPORTED
    elif fall is not None and _percent(frame, fall) >= bound:
        verdict = stats.NOT_SUPPORTED
    else:
        first = compare(_trials(frame, "ticket", min(verdicts)), dense, ACCURACY)
        verdict = with_reason(stats.INCONCLUSIVE, first)
    return Claim(
        "winning tickets exist below 10-20 % of the weights",
        "under 10-20 % (LeNet, Conv-2/4/6)",
        ours,
        n,
        verdict,
        f"a level matches when the 95 % interval of ticket minus dense accuracy lies above "
        f"-{100 * MATCH_MARGIN:g} points and falls below when it lies under it; supported when a level under "
        f"{bound:g} % matches before the first fall, not supported when tickets fall below at {bound:g} % or "
        f"more, else inconclusive",
        kind="tickets exist",
    )


def faster_and_better_at(
    frame: pd.DataFrame,
    level: int,
    subject: str = "LeNet",
    paper: str = "38 % sooner and more accurate (LeNet at 21.1 %)",
) -> Claim:
    """``subject``'s tickets at ``level`` against its dense networks; ``paper``: the paper's finding, as checked."""
    ticket, dense = _trials(frame, "ticket", level), _dense(frame)
    sooner, better, verdict = _sooner_and_better(ticket, dense)
    relative = 100 * sooner.mean / dense[ITERATION].mean()
    return Claim(
        f"{subject} tickets at about {_percent(frame, level):.0f} % stop earlier and are more accurate",
        paper,
        f"{relative:.0f} % sooner ({sooner.text(1, ' iterations', 0)}); {better.text(100, ' points')}",
        sooner.n,
        verdict,
        "supported when the 95 % intervals of the paired differences show the ticket stopping sooner "
        "and reaching a higher accuracy than its own dense network; not supported when either is surely "
        "the other way",
        kind="sooner and better",
    )


def reinit_loses(frame: pd.DataFrame, level: int, subject: str = "") -> Claim:
    """Random reinitialisation against the ticket of the same trial at ``level`` (``subject``: whose, if not LeNet)."""
    slower, worse, verdict = _sooner_and_better(_trials(frame, "ticket", level), _trials(frame, "reinit", level))
    whose = f"{subject}: " if subject else ""
    return Claim(
        f"{whose}randomly reinitialised tickets lose both advantages (at {_percent(frame, level):.1f} %)",
        "reinit learns slower and is less accurate",
        f"reinit later by {slower.text(1, ' iterations', 0)}; ticket ahead by {worse.text(100, ' points')}",
        slower.n,
        verdict,
        "supported when the 95 % intervals show reinit stopping later and less accurate than the ticket "
        "of the same trial; not supported when either is surely the other way",
        kind="reinit loses",
    )


def dropout_and_pruning(plain: pd.DataFrame, dropped: pd.DataFrame, level: int, subject: str, dropout: float) -> Claim:
    """Dropout and iterative pruning together: ``dropped`` (trained with ``dropout``) against ``plain`` (without),
    two records of one network whose trials share θ0 and data order. The dense network with dropout against the
    one without, paired by trial; then, within ``dropped``, its tickets at ``level`` against its dense network."""
    dense_gain = compare(_dense(dropped), _dense(plain), ACCURACY)
    ticket_gain = compare(_trials(dropped, "ticket", level), _dense(dropped), ACCURACY)
    verdict = with_reason(stats.combine([dense_gain.verdict(), ticket_gain.verdict()]), dense_gain, ticket_gain)
    return Claim(
        f"{subject}: dropout {dropout:g} raises the dense network's accuracy, and tickets at about "
        f"{_percent(dropped, level):.0f} % raise it further",
        "dropout and pruning complement each other: dropout +2.1, +3.0, +2.4 points on dense Conv-2/4/6, pruning "
        "up to +2.3, +4.6, +4.7 more",
        f"dense with dropout {dense_gain.text(100, ' points')}; its tickets over it {ticket_gain.text(100, ' points')}",
        min(dense_gain.n, ticket_gain.n),
        verdict,
        "supported when the 95 % intervals show the dense network more accurate with dropout than without (paired "
        "by trial: both start from the same θ0) and, with dropout, the tickets more accurate than the dense "
        "network; not supported when either is surely the other way",
        kind="dropout and pruning",
    )


def iterative_beats_oneshot(iterative: pd.DataFrame, oneshot: pd.DataFrame) -> Claim:
    dense = _dense(iterative)  # one shared dense baseline: the iterative experiment's
    deep_iterative, fall_iterative = deepest_match(matching(iterative, dense))
    deep_oneshot, fall_oneshot = deepest_match(matching(oneshot, dense))
    n = len(dense.index.intersection(_trials(oneshot, "ticket", max(oneshot["level"])).index))
    if deep_iterative is None or deep_oneshot is None:
        first = compare(_trials(oneshot if deep_iterative is not None else iterative, "ticket", 1), dense, ACCURACY)
        ours = f"{'one-shot' if deep_oneshot is None else 'iterative'} tickets surely match dense at no level"
        verdict = with_reason(stats.INCONCLUSIVE, first)
    else:
        ours = (
            f"iterative matches dense down to {_percent(iterative, deep_iterative):.1f} %, one-shot down to "
            f"{_percent(oneshot, deep_oneshot):.1f} %"
        )
        if deep_iterative > deep_oneshot and fall_oneshot is not None and fall_oneshot <= deep_iterative:
            verdict = stats.SUPPORTED
        elif deep_oneshot >= deep_iterative and fall_iterative is not None:
            verdict = stats.NOT_SUPPORTED
        else:
            verdict = f"{stats.INCONCLUSIVE}: no level where one matches dense and the other surely falls below"
    return Claim(
        "iterative pruning finds smaller tickets than one-shot pruning",
        "iterative tickets match dense at smaller sizes",
        ours,
        n,
        verdict,
        "each level matches or falls below by the rule of the first claim, against the same dense networks; "
        "supported when iterative tickets match at a level where one-shot tickets have already fallen below, "
        "not supported when one-shot tickets match as deep as iterative ones and iterative ones then fall "
        "below, else inconclusive",
        kind="iterative against one-shot",
    )


def over_levels(frame: pd.DataFrame, arm: str, levels, column: str = ACCURACY) -> pd.DataFrame:
    """Per trial holding ``column`` at every one of ``levels``: ``arm``'s mean of it over them, and whether most
    stopped last."""
    rows = distinct(frame[(frame["arm"] == arm) & frame["level"].isin(list(levels))]).dropna(subset=[column])
    grouped = rows.groupby("trial")
    out = pd.DataFrame(
        {
            column: grouped[column].mean(),
            "stopped_at_last_evaluation": grouped["stopped_at_last_evaluation"].mean() > 0.5,
            "levels": grouped.size(),
        }
    )
    return out[out["levels"] == len(set(levels))]


def arm_ahead(
    frame: pd.DataFrame,
    ahead: str,
    behind: str,
    levels,
    claim: str,
    paper: str,
    at_least_as_good: bool = False,
    kind: str = "",
) -> Claim:
    """Whether ``ahead``'s tickets are more accurate than ``behind``'s over ``levels`` (arms of one frame).

    Each trial's accuracy is averaged over the levels first, so the interval
    is over trials, the independent unit. With ``at_least_as_good`` the claim
    is that ``ahead`` is no more than :data:`MATCH_MARGIN` below ``behind``. The claim's ``kind`` is
    ``"{ahead} against {behind}"`` unless ``kind`` names one.
    """
    levels = sorted(set(levels))
    difference = compare(over_levels(frame, ahead, levels), over_levels(frame, behind, levels), ACCURACY)
    margin = -MATCH_MARGIN if at_least_as_good else 0.0
    sizes = f"{_percent(frame, levels[0]):.1f} %" + (
        f" to {_percent(frame, levels[-1]):.1f} %" if len(levels) > 1 else ""
    )
    if at_least_as_good:
        rule = (
            f"supported when the 95 % interval of {ahead} minus {behind} (accuracy averaged over the levels, "
            f"per trial) lies above -{100 * MATCH_MARGIN:g} points, not supported when it lies below, else "
            f"inconclusive"
        )
    else:
        rule = (
            f"supported when the 95 % interval of {ahead} minus {behind} (accuracy averaged over the levels, "
            f"per trial) lies above 0, not supported when it lies below 0, else inconclusive"
        )
    return Claim(
        claim,
        paper,
        f"{ahead} minus {behind} over {sizes}: {difference.text(100, ' points')}",
        difference.n,
        with_reason(difference.verdict(margin=margin), difference),
        rule,
        kind=kind or f"{ahead} against {behind}",
    )


def arms_ahead(frame: pd.DataFrame, wanted) -> list[Claim]:
    """:func:`arm_ahead` over the pruned levels of ``frame`` for each (ahead, behind, claim, paper, at least as good)
    of ``wanted`` whose two arms ``frame`` holds."""
    levels = sorted(set(frame.loc[frame["level"] > 0, "level"]))
    return [
        arm_ahead(frame, ahead, behind, levels, claim, paper, as_good)
        for ahead, behind, claim, paper, as_good in wanted
        if {ahead, behind} <= set(frame["arm"])
    ]


CONTROLS_BEATEN = {"reinit": "random reinit", "random_prune": "random pruning", "dense": "the dense network"}
CHANGE_WORDS = {stats.SUPPORTED: "grew", stats.NOT_SUPPORTED: "shrank"}
HELD = "held"


def _lead(frame: pd.DataFrame, level: int, against: str) -> tuple[pd.Series, pd.Series]:
    """Per trial: ticket minus ``against`` accuracy at ``level`` (dense: level 0); whether either stopped last."""
    ticket = _trials(frame, "ticket", level)
    other = _dense(frame) if against == "dense" else _trials(frame, against, level)
    trials = ticket.index.intersection(other.index)
    ticket, other = ticket.loc[trials], other.loc[trials]
    at_end = ticket["stopped_at_last_evaluation"].astype(bool) | other["stopped_at_last_evaluation"].astype(bool)
    return ticket[ACCURACY] - other[ACCURACY], at_end


def lead_change(short: pd.DataFrame, long: pd.DataFrame, level: int, against: str, labels: tuple[str, str]) -> dict:
    """How the tickets' accuracy lead over ``against`` at ``level`` changes from the ``short`` to the ``long`` run.

    The two runs share their trials' seeds, so the lead is compared trial by
    trial: long minus short, with its 95 % t-interval. The verdict is "grew"
    or "shrank" when the interval excludes zero, "held" when it does not,
    and "inconclusive" with fewer than five trials or when most of the runs
    stop at their last evaluation. ``labels`` name the two columns.
    """
    short_lead, short_end = _lead(short, level, against)
    long_lead, long_end = _lead(long, level, against)
    trials = short_lead.index.intersection(long_lead.index)
    change = stats.paired(long_lead.loc[trials], short_lead.loc[trials], long_end.loc[trials], short_end.loc[trials])
    verdict = change.verdict()
    if verdict == stats.INCONCLUSIVE and not change.why_inconclusive():
        word = f"{HELD} (the interval includes no change)"
    else:
        word = CHANGE_WORDS.get(verdict) or with_reason(verdict, change)
    return {
        "tickets ahead of": CONTROLS_BEATEN[against],
        "weights remaining": f"{_percent(long, level):.1f} %",
        labels[0]: f"{100 * short_lead.loc[trials].mean():+.2f}",
        labels[1]: f"{100 * long_lead.loc[trials].mean():+.2f}",
        "change (95 % interval)": change.text(100, " points"),
        "n": change.n,
        "the lead": word,
    }


def lead_table(short: pd.DataFrame, long: pd.DataFrame, levels, labels: tuple[str, str]) -> pd.DataFrame:
    """:func:`lead_change` at each of ``levels`` against each control and the dense network, one row each."""
    return pd.DataFrame(
        [lead_change(short, long, level, against, labels) for level in levels for against in CONTROLS_BEATEN]
    )


def lead_sentence(leads: pd.DataFrame, labels: tuple[str, str]) -> str:
    """How many of :func:`lead_table`'s comparisons saw the tickets' lead shrink, grow or hold from the shorter run
    (``labels[0]``) to the longer; comparisons the rule could not judge are counted apart."""
    kinds = leads["the lead"].str.split().str[0]
    counted = {word: int((kinds == word).sum()) for word in ("shrank", "grew", HELD)}
    unjudged = len(leads) - sum(counted.values())
    sentence = (
        f"Of these {len(leads)} comparisons, the tickets' lead shrank in {counted['shrank']}, grew in "
        f"{counted['grew']} and held in {counted[HELD]} from {labels[0]} to {labels[1]}"
    )
    return sentence + (f"; {unjudged} could not be judged." if unjudged else ".")


def _sooner_and_better(ahead: pd.DataFrame, behind: pd.DataFrame) -> tuple[stats.Paired, stats.Paired, str]:
    """How much sooner ``ahead`` stops than ``behind`` (iterations), how much more accurate, and the joint verdict."""
    sooner = compare(behind, ahead, ITERATION)
    better = compare(ahead, behind, ACCURACY)
    return sooner, better, with_reason(stats.combine([sooner.verdict(), better.verdict()]), sooner, better)


def with_reason(verdict: str, *parts: stats.Paired) -> str:
    """``verdict``, and when it is inconclusive for a reason found before any interval is read, that reason."""
    reasons = [p.why_inconclusive() for p in parts if p.why_inconclusive()]
    return f"{verdict}: {reasons[0]}" if verdict == stats.INCONCLUSIVE and reasons else verdict


def table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([c.row() for c in claims])


def rules(claims: list[Claim]) -> list[str]:
    """Each claim's rule in words, one item per claim, to print under its table."""
    return [f"{c.claim}: {c.rule}." for c in claims]


def by_verdict(found: list[Claim], subject, phrases: dict[str, str]) -> str:
    """One sentence saying which subjects each verdict holds for, in the order of ``phrases``.

    ``subject(claim)`` names what a claim is about (e.g. its criterion); ``phrases`` maps a verdict
    (supported, not supported, inconclusive) to what it means here, e.g. ``{"supported": "beat random"}``, or
    to a pair (after one subject, after several), e.g. ``("beats random", "beat random")``; an inconclusive
    verdict counts as inconclusive whatever its reason.
    """
    groups: dict[str, list[str]] = {verdict: [] for verdict in phrases}
    for claim in found:
        verdict = claim.verdict.split(":")[0]
        if verdict in groups:
            groups[verdict].append(subject(claim))
    parts = [
        f"{_listed(names)} {_agreeing(phrases[verdict], len(names))}" for verdict, names in groups.items() if names
    ]
    return ("; ".join(parts) + ".") if parts else "No comparison could be made."


def _agreeing(phrase, subjects: int) -> str:
    return phrase if isinstance(phrase, str) else phrase[subjects > 1]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
