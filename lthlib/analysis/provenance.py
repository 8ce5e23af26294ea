"""What the records a chapter shows cost to compute, in a sentence: training time, device, how many experiments.

Records trained together (provenance ``trained_with``) share one wall time, counted once.
:meth:`lthlib.analysis.chapter.Chapter.provenance_note` says it for every record a chapter used, and
:func:`compute_note` for those one figure shows.
"""

from __future__ import annotations


def _training_time(records) -> tuple[float, list[str], int, int]:
    """The training seconds of ``records`` (each joint run's wall time once), their devices, how many records not in
    ``records`` were trained in the same runs, and how many levels went untimed."""
    joint, partners = {}, set()
    for r in records:
        together = frozenset([r["hash"], *r["provenance"].get("trained_with", [])])
        joint[together] = max(joint.get(together, 0.0), r["provenance"]["wall_seconds"])
        partners |= together
    others = len(partners - {r["hash"] for r in records})
    devices = sorted({f"{r['provenance']['device']}, {r['provenance']['threads']} threads" for r in records})
    untimed = sum(r["provenance"].get("untimed_levels", 0) for r in records)
    return sum(joint.values()), devices, others, untimed


def _untimed(levels: int) -> str:
    return f" The time of {levels} pruning levels finished before an interruption was not recorded." if levels else ""


def compute_note(records) -> str:
    """What ``records`` (e.g. those one figure shows) cost to compute, in one sentence: their training time on
    which device, each run's wall time counted once however many of the records it produced. When such a run also
    produced records not in ``records``, the sentence says how many, since their times cannot be told apart."""
    records = list({r["hash"]: r for r in records}.values())
    seconds, devices, others, untimed = _training_time(records)
    count = lambda n: f"{n} stored experiment{'' if n == 1 else 's'}"  # noqa: E731
    shared = f", trained in the same runs as {count(others)} not shown here, whose time is included" if others else ""
    return (
        f"Compute: {format_duration(seconds)} of training on {'; '.join(devices)} "
        f"({count(len(records))}{shared}).{_untimed(untimed)}"
    )


def provenance_note(used: list) -> str:
    """One sentence on every record a chapter ``used`` (each as often as it was used): the scales, the devices and
    the training time in all."""
    if not used:
        return "No stored results were used."
    seconds, devices, _, untimed = _training_time(used)
    scales = sorted({r["config"]["scale"] for r in used})
    return (
        f"The results in this chapter were computed at scale {' and '.join(scales)} on "
        f"{'; '.join(devices)}, in {format_duration(seconds)} of training in all "
        f"({len(used)} stored experiments).{_untimed(untimed)}"
    )


def format_duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"
