"""What the records a chapter shows cost to compute (:mod:`lthlib.analysis.provenance`)."""

from __future__ import annotations

from lthlib.analysis import provenance


def record(hash_, seconds, trained_with=(), untimed=0, scale="smoke"):
    return {
        "hash": hash_,
        "config": {"scale": scale},
        "provenance": {
            "device": "cpu (x86_64)",
            "threads": 2,
            "wall_seconds": seconds,
            "trained_with": list(trained_with),
            "untimed_levels": untimed,
        },
    }


def test_a_run_that_made_several_records_counts_once_and_names_those_not_shown():
    a, b = record("a", 300.0, ["b"]), record("b", 300.0, ["a"])
    alone = record("c", 60.0, untimed=2)
    assert provenance.compute_note([a, b, a]) == (
        "Compute: 5 min of training on cpu (x86_64), 2 threads (2 stored experiments)."
    )
    assert provenance.compute_note([a, alone]) == (
        "Compute: 6 min of training on cpu (x86_64), 2 threads (2 stored experiments, trained in the same runs as 1 "
        "stored experiment not shown here, whose time is included). The time of 2 pruning levels finished before an "
        "interruption was not recorded."
    )
    assert provenance.provenance_note([]) == "No stored results were used."
    assert provenance.provenance_note([a, b]).startswith("The results in this chapter were computed at scale smoke")


def test_durations_read_in_seconds_minutes_or_hours():
    assert [provenance.format_duration(s) for s in (42, 600, 7199, 7200 * 3)] == ["42 s", "10 min", "120 min", "6.0 h"]
