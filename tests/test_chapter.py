"""The Chapter a notebook opens (:mod:`lthlib.analysis.chapter`) and the registry of chapters it opens by
(:mod:`lthlib.analysis.chapters`): the store it reads, the settings box, and one entry per notebook that agrees with
the notebook's parameters."""

from __future__ import annotations

import pathlib
import re

import nbformat
import pytest
import yaml

from lthlib.analysis import chapter, chapters, parameters, provenance
from lthlib.analysis.parameters import ParameterError
from lthlib.engine import kind

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_chapter_reads_a_read_only_store_and_names_the_missing_command(tmp_path):
    book = chapter.open(scale="smoke", trials=3, store=str(tmp_path))
    with pytest.raises(Exception, match="python -m lthlib run imp --scale smoke --trials 3 --criterion movement"):
        book.result(experiment="imp", criterion="movement")
    with pytest.raises(ParameterError, match="criterion='best'"):
        book.result(experiment="imp", criterion="best")


def test_convolutional_sections_are_skipped_without_images():
    book = chapter.open(dataset="mnist1d", scale="smoke", conv_runs="conv2:0,conv4:0.5", conv_iterations=10)
    assert book.conv_runs == [] and book.networks == ("lenet",)
    assert "mnist1d" in book.conv_skipped and "images" in book.conv_skipped
    assert set(book.parameters_table().set_index("parameter").filter(like="conv_", axis=0)["value"]) == {
        "not used: no images"
    }
    empty = chapter.open(scale="smoke", conv_runs="")
    assert empty.conv_runs == [] and "conv_runs is empty" in empty.conv_skipped
    assert chapter.open(scale="smoke", conv_runs=None).conv_skipped is None


def test_the_settings_box_sets_each_network_beside_the_paper(tmp_path):
    book = chapter.open(scale="smoke", store=str(tmp_path))

    def used(network, experiment, iterations, trials, precision, rewind=0):
        config = {
            "network": network,
            "experiment": experiment,
            "iterations": iterations,
            "eval_every": 50,
            "trials": trials,
            "precision": precision,
            "rewind": rewind,
            "dataset": "fashion-mnist",
            "val_size": 1000 if network != "lenet" else None,
            "train_subset": 10_000 if network != "lenet" else None,
        }
        return {"config": config, "provenance": {"device": "cpu (x86_64)", "threads": 2}}

    book.used = [
        used("lenet", "imp", 200, 5, "float32"),
        used("lenet", "imp", 200, 3, "float32", rewind=10),
        used("conv2", "imp", 50, 1, "bfloat16"),
    ]
    box = book.settings_table().set_index("setting")
    assert list(box.columns) == ["this chapter", "Frankle & Carbin"]
    assert box.loc["dataset", "this chapter"] == "Fashion-MNIST"
    assert box.loc["networks", "this chapter"] == "LeNet-300-100, Conv-2"
    assert box.loc["training length", "this chapter"] == (
        "200 iterations, evaluated every 50 (LeNet-300-100); 50 iterations, evaluated every 50 (Conv-2)"
    )
    assert box.loc["trials", "this chapter"] == (
        "5 (LeNet-300-100 iterative pruning); 3 (LeNet-300-100 rewinding to 10); 1 (Conv-2 iterative pruning)"
    )
    assert box.loc["training images", "this chapter"] == (
        "all 55,000 outside the validation set (LeNet-300-100); "
        "10,000 of the 59,000 outside the validation set (Conv-2)"
    )
    assert box.loc["hardware", "this chapter"] == "cpu (x86_64), 2 threads"
    assert "LeNet-300-100: 50,000 iterations" in box.loc["training length", "Frankle & Carbin"]
    assert "55,000 on MNIST" in box.loc["training images", "Frankle & Carbin"]

    book.used = book.used[:2]
    assert "training images" not in set(book.settings_table()["setting"]), "no run learns from a subset"


def test_sweeps_read_together_are_trained_together_once_and_their_time_counted_once(tmp_path, capsys, fashion):
    book = chapter.open(scale="smoke", trials=1, store=str(tmp_path), allow_train=True)
    arms = [
        dict(experiment="imp", network="lenet", levels=1, controls=(), criterion=c) for c in ("large_final", "random")
    ]
    together = book.results_together(arms[0], *arms)  # a sweep asked twice is trained once and returned twice
    assert "400/400" in capsys.readouterr().err  # the dense level and one round, for both sweeps
    assert [r["config"]["criterion"] for r in together] == ["large_final", "large_final", "random"]
    records = together[1:]
    assert [r["provenance"]["trained_with"] for r in records] == [[records[1]["hash"]], [records[0]["hash"]]]
    seconds = max(r["provenance"]["wall_seconds"] for r in records)
    assert provenance.format_duration(seconds) in book.provenance_note()
    assert provenance.compute_note(records[:1]) == provenance.compute_note(records).replace(
        "(2 stored experiments)",
        "(1 stored experiment, trained in the same runs as 1 stored experiment not shown here, whose time is included)",
    )
    assert book.results_together(*arms) == records and capsys.readouterr().err == ""
    with pytest.raises(ParameterError, match="differs from"):
        book.results_together(arms[0], {**arms[1], "iterations": 100})


def test_every_experiment_kind_has_its_own_name_in_the_text():
    named = {name: chapter.experiment_kind({"experiment": name, "rewind": 0}) for name in kind.names()}
    assert all(named.values()) and len(set(named.values())) == len(named)
    assert named["imp"] == "iterative pruning"
    assert chapter.experiment_kind({"experiment": "imp", "rewind": 1500}) == "rewinding to 1,500"


def notebook_parameters(name: str) -> list[str]:
    """The names a chapter's ``parameters`` cell assigns, in order."""
    notebook = nbformat.read(ROOT / "book" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    return re.findall(r"^(\w+)\s*=", cell.source, flags=re.MULTILINE)


def test_the_registry_has_one_entry_per_notebook_chapter_in_the_book_s_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    notebooks = [
        pathlib.Path(entry["file"]).name
        for entry in toc["chapters"]
        if (ROOT / "book" / f"{pathlib.Path(entry['file']).name}.ipynb").exists()
    ]
    assert chapters.names() == notebooks
    assert {path.stem for path in (ROOT / "book").glob("*.ipynb")} == set(notebooks)


@pytest.mark.parametrize("name", chapters.names())
def test_each_entry_declares_the_parameters_of_its_notebook(name):
    spec = chapters.find(name)
    found = notebook_parameters(name)
    assert [p for p in found if p in parameters.COMMON] == list(parameters.COMMON)
    assert [p for p in found if p not in parameters.COMMON] == list(spec.parameters)
    assert set(spec.parameters) <= set(parameters.CHECKS)
    assert all(set(table) <= set(spec.parameters) for table in spec.defaults.values())


def test_a_named_chapter_takes_only_its_own_parameters():
    with pytest.raises(ParameterError) as error:
        chapter.open(name="lottery-ticket", scale="smoke", criteria="random")
    assert "parameter criteria does not apply to chapter 'lottery-ticket'" in str(error.value)
    assert "rewind" in str(error.value)
    assert chapters.NETWORK_CHAPTERS == ("deconstructing", "supermasks")
    assert chapter.open(name="supermasks", scale="smoke").settings_table().columns[-1] == "Zhou et al."
