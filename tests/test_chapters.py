"""Every chapter runs end to end at smoke scale (papermill), and a bad parameter stops it at its first cells."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import nbformat
import papermill
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

SMOKE = {
    "foundations": dict(scale="smoke", trials=2, conv_trials=1, conv_iterations=50),
    "lottery-ticket": dict(scale="smoke", trials=2, levels=2, rewind=50, extra_trials=2,
                           conv_runs="conv2:0,conv2:0.5", conv_trials=1, conv_levels=1, conv_iterations=50),
}


def chapters_in_toc() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [pathlib.Path(entry["file"]).name for entry in toc.get("chapters", [])
            if (BOOK / f"{pathlib.Path(entry['file']).name}.ipynb").exists()]


def execute(name: str, tmp_path, **parameters):
    return papermill.execute_notebook(str(BOOK / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                                      parameters=parameters, cwd=str(BOOK), kernel_name="python3",
                                      progress_bar=False)


def test_every_notebook_chapter_has_smoke_parameters():
    assert set(chapters_in_toc()) == set(SMOKE)
    assert {p.stem for p in BOOK.glob("*.ipynb")} == set(SMOKE)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_chapter_runs_at_smoke_scale_into_a_fresh_store(name, tmp_path, fashion):
    store = tmp_path / "store"
    notebook = execute(name, tmp_path, allow_train=True, store=str(store), **SMOKE[name])
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert list(store.glob("*/*/record.json"))  # it computed what the committed store lacks
    note = next(o["text"] for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "stream" and "computed at scale" in o.get("text", ""))
    assert "scale smoke" in note


@pytest.mark.parametrize("parameter, value, expected", [
    ("trials", 0, ["trials=0", "positive integer"]),
    ("dataset", "imagenet", ["dataset='imagenet'", "fashion-mnist", "mnist1d"]),
    ("scale", "huge", ["scale='huge'", "smoke", "book", "paper"]),
    ("conv_iterations", -1, ["conv_iterations=-1", "positive integer"]),
])
def test_a_bad_parameter_stops_the_chapter_in_its_first_cells(parameter, value, expected, tmp_path):
    for name in sorted(SMOKE):
        with pytest.raises(papermill.PapermillExecutionError) as error:
            execute(name, tmp_path, **{parameter: value})
        message = str(error.value)
        assert "ParameterError" in message
        for text in expected:
            assert text in message
        notebook = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
        assert failed <= 2  # parameters, injected parameters, then the cell that checks them
        assert all(c.execution_count is None for c in code[failed + 1:])


def test_nbval_fails_when_a_committed_output_is_changed(tmp_path):
    notebook = nbformat.read(BOOK / "foundations.ipynb", as_version=4)
    note = next(o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "stream" and "computed at scale" in o["text"])
    note["text"] = note["text"].replace("computed at scale", "computed, we promise, at scale")
    nbformat.write(notebook, tmp_path / "foundations.ipynb")
    finished = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "foundations.ipynb"), "--nbval",
                               "--nbval-current-env", "-q", "-p", "no:cacheprovider"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert finished.returncode == 1, finished.stdout[-2000:]
    assert "1 failed" in finished.stdout and "we promise" in finished.stdout
