"""The papers' claims, judged on stored results.

Every function takes tidy frames from :func:`lthlib.analysis.summary.runs_frame`. Arms are compared trial by trial
(the arms of a trial share their initialisation and data order). Accuracies are early-stop test accuracies (the
test set is read at the iteration the validation loss chose, never used to choose).

A :class:`PaperClaim` is a claim as its paper makes it: its words and direction, where the paper makes it and its
number, and the hypothesis it states about the paired differences (:mod:`lthlib.analysis.hypotheses`: a
difference in the claimed direction, or equivalence within a stated margin). :func:`tested` tests it at each
of the paper's sizes that the runs reach, and :func:`judge` corrects one table's tests together with Holm's method.

The chapters not yet judged this way still use the older rule of :class:`Claim` (an interval against a fixed
margin, :mod:`lthlib.analysis.stats`): :func:`arm_ahead`, :func:`lead_change` and the helpers after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from . import hypotheses, stats
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

    def brief(self) -> dict:
        """The row in the conclusions' columns (those of :meth:`Judged.brief`)."""
        return {"claim": self.claim, "paper": self.paper, "this book": self.ours, "n": self.n, "verdict": self.verdict}


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


# --- Claims as the papers make them, judged level by level -------------------------------------------------------

DENSE = "dense"  # the arm name that stands for the unpruned network: level 0's ticket
# The sizes of Frankle & Carbin's LeNet figures (% of all weights after 3, 7, 9, 12, 15, 16 and 18 rounds).
PAPER_SIZES = (51.3, 21.1, 13.5, 7.0, 3.6, 2.9, 1.9)
LEVEL_TOLERANCE = 0.1  # a level of ours stands for a paper's size when its share of weights is within 10 % of it
UNITS = {ACCURACY: (100.0, " points", 2), ITERATION: (1.0, " iterations", 0)}  # scale, unit, digits shown
MANY_TRIALS = 100  # beyond this many trials, the number needed for 80 % power is shown as "over 100"
ARM_WORDS = {
    "ticket": "tickets",
    DENSE: "the dense network",
    "reinit": "reinitialised tickets",
    "random_prune": "randomly pruned networks",
}


@dataclass(frozen=True)
class PaperClaim:
    """A claim in the direction and words its paper makes it, with where it makes it and the paper's number.

    The claim is about the paired differences ``a - b`` of ``measure``
    (:data:`ACCURACY`, a fraction, or :data:`ITERATION`) between two arms of
    the same trials at each of the paper's sizes ``levels`` (% of the weights
    remaining; empty: every pruned level the runs hold). ``b`` may be
    :data:`DENSE`, the unpruned network of the same trial. ``number`` is the
    number the paper states, or what its figure shows when it states none
    (said so); ``effect`` the same in the measure's units, when there is one,
    for the trials an inconclusive verdict would need. ``kind`` names the
    claim for code that picks claims (the conclusions), so that rewording it
    changes no selection.
    """

    says: str
    where: str
    number: str
    a: str
    b: str
    measure: str
    hypothesis: hypotheses.Hypothesis
    levels: tuple[float, ...] = ()
    effect: float | None = None
    at: float | None = None
    compared: str = ""
    kind: str = ""
    relative_to: tuple[str, str] | None = None

    def arms(self) -> str:
        """What is subtracted from what, in words: ``compared``, or the two arms' names."""
        return self.compared or f"{ARM_WORDS.get(self.a, self.a)} − {ARM_WORDS.get(self.b, self.b)}"


@dataclass(frozen=True)
class Judged:
    """A :class:`PaperClaim` tested at one of our levels (``percent``: its share of the weights remaining)."""

    claim: PaperClaim
    percent: float
    test: hypotheses.Test

    @property
    def verdict(self) -> str:
        """Supported, contradicted or inconclusive (with its reason when the trials cannot be judged at all)."""
        verdict, reason = self.test.verdict, self.test.why_inconclusive()
        return f"{verdict}: {reason}" if verdict == hypotheses.INCONCLUSIVE and reason else verdict

    @property
    def kind(self) -> str:
        return self.claim.kind

    @property
    def ours(self) -> str:
        """What this book measured: ``"tickets − reinitialised tickets at 3.6 %: +0.79 [+0.58, +1.00] points"``."""
        return f"{self.claim.arms()} at {self.percent:.1f} %: {self.difference()}"

    def difference(self) -> str:
        """``+0.74 [+0.61, +0.87] points``: the mean paired difference a - b and its 95 % interval."""
        scale, unit, digits = UNITS[self.claim.measure]
        return self.test.text(scale, unit, digits)

    def trials_needed(self) -> str:
        """For an inconclusive verdict on judgeable trials, the trials that would show the paper's effect (or
        the observed one) at 80 % power with the observed spread; ``""`` otherwise."""
        if self.test.verdict != hypotheses.INCONCLUSIVE or self.test.why_inconclusive():
            return ""
        needed = self.test.trials_for_power(self.claim.effect)
        if needed is None:
            return "none: the observed effect is on the other side"
        return f"{needed}" if needed <= MANY_TRIALS else f"over {MANY_TRIALS}"

    def brief(self) -> dict:
        """The row in five columns, for the conclusions: the claim, the paper's number and where, ours with its
        size, the trials and the verdict."""
        return {
            "claim": self.claim.says,
            "paper": f"{self.claim.number} ({self.claim.where})",
            "this book": self.ours,
            "n": self.test.n,
            "verdict": self.verdict,
        }

    def row(self) -> dict:
        claim = self.claim
        scale, unit, digits = UNITS[claim.measure]
        hypothesis = self.test.hypothesis
        return {
            "claim": claim.says,
            "paper": f"{claim.number}; {claim.where}",
            "size": f"{self.percent:.1f} %",
            "this book (95 % interval)": f"{claim.arms()}: {self.difference()}",
            "margin": _margin_text(hypothesis, scale, unit, digits),
            "n": self.test.n,
            "verdict": self.verdict,
            "trials needed": self.trials_needed(),
        }


def _margin_text(hypothesis: hypotheses.Hypothesis, scale: float, unit: str, digits: int) -> str:
    """An equivalence or not-worse margin and its justification; only the justification when the claim is not
    judged (the margin as large as the effect); nothing for a difference claim."""
    if hypothesis.form not in ("equivalent", "not_worse"):
        return ""
    if hypothesis.uninformative:
        return hypothesis.why
    return f"{hypothesis.margin * scale:.{digits}f}{unit}: {hypothesis.why}"


def _level_rows(frame: pd.DataFrame, arm: str, percent: float | None) -> tuple[pd.DataFrame, float] | None:
    """``arm``'s runs (indexed by trial) at the level of ``frame`` standing for ``percent`` % of the weights, and
    that level's own share; ``None`` when no level is within :data:`LEVEL_TOLERANCE` of it. ``arm``
    :data:`DENSE`, or ``percent`` ``None``: level 0."""
    if arm == DENSE:
        return _dense(frame), 100.0
    shares = distinct(frame[frame["arm"] == arm]).groupby("level")["percent"].mean()
    if percent is not None:
        shares = shares[(shares / percent - 1).abs() <= LEVEL_TOLERANCE]
    if shares.empty:
        return None
    level = int((shares - (percent or 0)).abs().idxmin())
    return _trials(frame, arm, level), float(shares[level])


def _pruned_percents(frame: pd.DataFrame, arm: str) -> list[float]:
    rows = distinct(frame[(frame["arm"] == arm) & (frame["level"] > 0)])
    return [float(p) for p in rows.groupby("level")["percent"].mean().sort_values(ascending=False)]


def tested(claim: PaperClaim, frame: pd.DataFrame, other: pd.DataFrame | None = None) -> list[Judged]:
    """``claim`` tested at each of its levels that ``frame`` reaches (arm ``a`` from ``frame``, arm ``b`` from
    ``other``, default ``frame``), paired over the trials both hold, uncorrected (:func:`judge` corrects a
    table)."""
    other = frame if other is None else other
    judged = []
    for wanted in claim.levels or _pruned_percents(frame, claim.a):
        a, b = _level_rows(frame, claim.a, wanted), _level_rows(other, claim.b, wanted)
        if a is None or b is None:
            continue
        (a, percent), (b, _) = a, b
        trials = a.index.intersection(b.index)
        if len(trials) == 0:
            continue
        a, b = a.loc[trials], b.loc[trials]
        test = hypotheses.paired_test(
            a[claim.measure],
            b[claim.measure],
            _hypothesis_at(claim, frame, wanted, trials),
            a["stopped_at_last_evaluation"],
            b["stopped_at_last_evaluation"],
        )
        judged.append(Judged(claim, percent, test))
    return judged


def _hypothesis_at(claim: PaperClaim, frame: pd.DataFrame, percent: float, trials) -> hypotheses.Hypothesis:
    """``claim``'s hypothesis at the level standing for ``percent``: its own, or with the margin a fraction of the
    gap ``relative_to`` names, measured there over ``trials``."""
    if claim.relative_to is None:
        return claim.hypothesis
    x, y = (_level_rows(frame, arm, percent)[0].loc[trials, claim.measure] for arm in claim.relative_to)
    gap = float((x - y).mean())
    scale, unit, digits = UNITS[claim.measure]
    named = " − ".join(ARM_WORDS.get(arm, arm) for arm in claim.relative_to)
    if gap <= 0:  # nothing to recover: a margin as large as the effect, which the claim is not judged by
        return replace(
            claim.hypothesis,
            margin=claim.hypothesis.margin * abs(gap) or claim.hypothesis.margin,
            why=f"none: {named} is {gap * scale:+.{digits}f}{unit} here",
            effect=0.0,
        )
    return replace(
        claim.hypothesis,
        margin=claim.hypothesis.margin * gap,
        why=f"{claim.hypothesis.why} ({gap * scale:+.{digits}f} here)",
        effect=gap,
    )


def judge(judged: list[Judged]) -> list[Judged]:
    """The tests of one claims table as one family: Holm's correction over all of them (levels and claims)."""
    corrected = hypotheses.judge([j.test for j in judged])
    return [replace(j, test=test) for j, test in zip(judged, corrected)]


def claims_table(judged: list[Judged]) -> pd.DataFrame:
    """One row per claim and level, in order."""
    return pd.DataFrame([j.row() for j in judged])


def family_note(judged: list[Judged]) -> str:
    """What the table's correction for multiplicity did, in one sentence."""
    size = hypotheses.family_size([j.test for j in judged])
    uncorrected = [replace(j, test=replace(j.test, p_for_holm=None, p_against_holm=None)) for j in judged]
    changed = sum(u.test.verdict != j.test.verdict for u, j in zip(uncorrected, judged))
    return (
        f"The table is one family of {size} judged tests: Holm's method corrects their p-values together, so that "
        f"the chance of any false verdict in it stays under 5 %; the correction turned "
        f"{changed} verdict{'s' if changed != 1 else ''} that a lone test would give into inconclusive ones."
    )


def power_note(judged: list[Judged], affordable: int = 10) -> str:
    """How many of the inconclusive verdicts (on judgeable trials) more trials would settle: those that would
    show the paper's effect, or the observed one, at 80 % power with at most ``affordable`` trials."""
    needs = [j.test.trials_for_power(j.claim.effect) for j in judged if j.trials_needed()]
    if not needs:
        return "No verdict here is left inconclusive by too few trials alone."
    few = sum(n is not None and n <= affordable for n in needs)
    return (
        f"Of the {len(needs)} inconclusive verdict{'s' if len(needs) != 1 else ''} here, {few} would need at most "
        f"{affordable} trials to show the paper's effect (or, where the paper states none, the observed one) at "
        f"80 % power, before the correction."
    )


def at_size(judged: list[Judged], claim: PaperClaim, percent: float) -> str:
    """``claim``'s difference at the judged size standing for ``percent``, or why there is none."""
    for j in judged:
        if j.claim == claim and abs(j.percent / percent - 1) <= LEVEL_TOLERANCE:
            return j.difference()
    return f"not measured (the runs do not reach {percent:g} %)"


def where_it_holds(judged: list[Judged], claim: PaperClaim) -> str:
    """The verdicts of ``claim`` by level, e.g. ``"supported at 21.1 and 7.0 %; inconclusive at 3.6 %"``."""
    groups: dict[str, list[str]] = {}
    for j in judged:
        if j.claim == claim:
            groups.setdefault(j.verdict, []).append(f"{j.percent:.1f}")
    parts = []
    for verdict, percents in groups.items():
        word, _, reason = verdict.partition(": ")
        parts.append(f"{word} at {listed(percents)} %" + (f", {reason}" if reason else ""))
    return "; ".join(parts) or "not reached"


def in_words(judged: list[Judged]) -> str:
    """Every claim of ``judged`` with where it holds, in order: ``"<claim>: supported at …; <claim>: …"``."""
    return "; ".join(
        f"{claim.says}: {where_it_holds(judged, claim)}" for claim in dict.fromkeys(j.claim for j in judged)
    )


def spread(judged: list[Judged]) -> str:
    """The range of the mean differences in ``judged``, e.g. ``"+0.09 to +0.89 points"`` (one measure)."""
    scale, unit, digits = UNITS[judged[0].claim.measure]
    means = [j.test.mean * scale for j in judged]
    return f"{min(means):+.{digits}f} to {max(means):+.{digits}f}{unit}"


def glance(judged: list[Judged]) -> pd.DataFrame:
    """One row per claim: what it says, the paper's number and where, ours at the size the paper states its number
    (or the claim's first size), and where it holds."""
    rows = []
    for claim in dict.fromkeys(j.claim for j in judged):
        mine = [j for j in judged if j.claim == claim]
        shown = min(mine, key=lambda j: abs(j.percent - claim.at)) if claim.at else mine[0]
        rows.append(
            {
                "claim": claim.says,
                "paper": f"{claim.number} ({claim.where})",
                "this book": shown.ours,
                "verdict, by level": where_it_holds(judged, claim),
            }
        )
    return pd.DataFrame(rows)


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
NOT_SHOWN = "no change shown"


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
    or "shrank" when the interval excludes zero, "no change shown" when it does not,
    and "inconclusive" with fewer than five trials or when most of the runs
    stop at their last evaluation. ``labels`` name the two columns.
    """
    short_lead, short_end = _lead(short, level, against)
    long_lead, long_end = _lead(long, level, against)
    trials = short_lead.index.intersection(long_lead.index)
    change = stats.paired(long_lead.loc[trials], short_lead.loc[trials], long_end.loc[trials], short_end.loc[trials])
    verdict = change.verdict()
    if verdict == stats.INCONCLUSIVE and not change.why_inconclusive():
        word = NOT_SHOWN
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
    """How many of :func:`lead_table`'s comparisons saw the tickets' lead shrink or grow from the shorter run
    (``labels[0]``) to the longer, and how many showed no change; comparisons the rule could not judge are counted
    apart."""
    counted = {word: int((leads["the lead"] == word).sum()) for word in ("shrank", "grew", NOT_SHOWN)}
    unjudged = len(leads) - sum(counted.values())
    sentence = (
        f"Of these {len(leads)} comparisons, the tickets' lead shrank in {counted['shrank']}, grew in "
        f"{counted['grew']} and showed no change either way in {counted[NOT_SHOWN]} from {labels[0]} to {labels[1]}"
    )
    return sentence + (f"; {unjudged} could not be judged." if unjudged else ".")


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
    parts = [f"{listed(names)} {_agreeing(phrases[verdict], len(names))}" for verdict, names in groups.items() if names]
    return ("; ".join(parts) + ".") if parts else "No comparison could be made."


def _agreeing(phrase, subjects: int) -> str:
    return phrase if isinstance(phrase, str) else phrase[subjects > 1]


def listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
