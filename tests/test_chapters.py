"""Every chapter runs end to end at smoke scale (papermill), and a bad parameter stops it at its first cells.

Smoke runs rely on the scale's own defaults (``lthlib.analysis.parameters.SCALE_DEFAULTS["smoke"]``): the
parameters given here are only those a test is about.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import nbformat
import papermill
import pytest
import yaml
from sampling import FULL

from lthlib.cli import chapter_run

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

SMOKE = {
    "foundations": dict(scale="smoke"),
    "lottery-ticket": dict(scale="smoke"),
    "deconstructing": dict(scale="smoke"),
    "supermasks": dict(scale="smoke", criteria="large_final,random"),  # the nine criteria: deconstructing's run
    "review": dict(  # its many sweeps at a third of the smoke length; one supermask (the supermask chapter's run)
        scale="smoke",
        iterations=60,
        eval_every=20,
        supermask_methods="edge_popup",
        supermask_starts="signed_constant",
        supermask_iterations=40,
        supermask_eval_every=20,
    ),
    "transfer": dict(scale="smoke", iterations=60, eval_every=20),  # its nine sweeps at a third of the smoke length
    "conclusions": dict(scale="smoke"),
}
# On images the Zhou et al. chapter trains its criteria on Conv-2 too: there, the four its headline claims name;
# its mnist1d run (LeNet-300-100 only) trains all nine.
HEADLINE_CRITERIA = "large_final,small_final,magnitude_increase,random"
ON_IMAGES = {"deconstructing": dict(criteria=HEADLINE_CRITERIA, conv_criteria=HEADLINE_CRITERIA)}


def chapters_in_toc() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [
        pathlib.Path(entry["file"]).name
        for entry in toc.get("chapters", [])
        if (BOOK / f"{pathlib.Path(entry['file']).name}.ipynb").exists()
    ]


def execute(name: str, tmp_path, **parameters):
    return chapter_run.execute(BOOK / f"{name}.ipynb", tmp_path / f"{name}.ipynb", parameters)


def parameters_of(name: str) -> list[str]:
    """The names a chapter's ``parameters`` cell assigns."""
    notebook = nbformat.read(BOOK / f"{name}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    return re.findall(r"^(\w+)\s*=", cell.source, flags=re.MULTILINE)


def code_outputs(notebook, output_type: str) -> list:
    return [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == output_type]


def shown(notebook) -> str:
    """Everything the chapter printed, displayed or glued, as plain text."""
    parts = [o["text"] for o in code_outputs(notebook, "stream") if o.get("name") == "stdout"]
    for kind in ("display_data", "execute_result"):
        for output in code_outputs(notebook, kind):
            parts += [str(value) for key, value in output.get("data", {}).items() if key.endswith("text/plain")]
    return "\n\n".join(parts)


def test_every_notebook_chapter_has_smoke_parameters():
    assert set(chapters_in_toc()) == set(SMOKE)
    assert {p.stem for p in BOOK.glob("*.ipynb")} == set(SMOKE)


# Each chapter on Fashion-MNIST, and on the one-dimensional mnist1d those with convolutional sections (which
# mnist1d skips): the other chapters' runs are all LeNet-300-100, whose mnist1d path those runs already take.
# make smoke runs all of them. make test samples two: the Lottery Ticket chapter on images (its verdicts at smoke
# scale) and deconstructing on mnist1d (all nine criteria, and the convolutional sections skipped). The other
# chapters' code runs there all the same: nbval executes every notebook against the committed store, and
# tests/test_review.py trains the review and transfer chapters' results at smoke scale.
SMOKE_RUNS = [(name, dataset) for name in sorted(SMOKE) for dataset in ("fashion-mnist", "mnist1d")]
for name in ("supermasks", "review", "transfer"):
    SMOKE_RUNS.remove((name, "mnist1d"))
# The sampled Lottery Ticket run leaves its convolutional and training-length sections to make smoke and prunes one
# round more, down to 51 %: the first size its claims are judged at.
SAMPLED = {"lottery-ticket": dict(levels=3, conv_runs="", short_run="")}
if not FULL:
    SMOKE_RUNS = [("deconstructing", "mnist1d"), ("lottery-ticket", "fashion-mnist")]
# The conclusions train nothing of their own: at smoke scale into a fresh store they would train every other
# chapter's runs again, those the runs above check; nbval executes them against the committed store.
SMOKE_RUNS = [(name, dataset) for name, dataset in SMOKE_RUNS if name != "conclusions"]


@pytest.mark.parametrize(("name", "dataset"), SMOKE_RUNS)
def test_chapter_runs_at_smoke_scale_into_a_fresh_store(name, dataset, tmp_path, fashion):
    store = tmp_path / "store"
    images = ON_IMAGES.get(name, {}) if dataset != "mnist1d" else {}
    sampled = {} if FULL else SAMPLED.get(name, {})
    smoke = {**SMOKE[name], **sampled}
    notebook = execute(name, tmp_path, allow_train=True, store=str(store), dataset=dataset, **smoke, **images)
    assert not code_outputs(notebook, "error")
    assert list(store.glob("*/*/record.json"))  # it computed what the committed store lacks
    text = shown(notebook)
    assert "computed at scale smoke" in text
    skipped = "This section is skipped: the convolutional networks need images" in text
    has_conv = any(knob.startswith("conv_") or knob == "criteria_conv" for knob in parameters_of(name))
    assert skipped == (has_conv and dataset == "mnist1d")  # the conv sections say so when they are skipped
    assert {path.parent.parent.name for path in store.glob("*/*/record.json")} >= {
        "dense" if name == "foundations" else "imp"
    }
    if name == "lottery-ticket":  # two smoke trials can neither support nor contradict anything
        assert "only 2 trials (at least 5 needed)" in text  # the claims of the sizes smoke reaches
        assert not re.search(r"\b(supported|contradicted)\b", text)


TRIALS = ("trials", 0, ["trials=0", "positive integer"])
DATASET = ("dataset", "imagenet", ["dataset='imagenet'", "fashion-mnist", "mnist1d"])
SCALE = ("scale", "huge", ["scale='huge'", "smoke", "book", "paper"])
CONV_ITERATIONS = ("conv_iterations", -1, ["conv_iterations=-1", "positive integer"])
# Every chapter checks its parameters with one function, value by value in test_book_helpers; a kernel run per
# chapter shows that each calls it in its first cells, and each bad value is tried in some chapter.
BAD_PARAMETER = {
    "foundations": TRIALS,
    "lottery-ticket": CONV_ITERATIONS,
    "deconstructing": DATASET,
    "supermasks": SCALE,
    "review": TRIALS,
    "transfer": DATASET,
    "conclusions": SCALE,
}


def test_every_chapter_is_given_a_bad_parameter_it_has():
    assert set(BAD_PARAMETER) == set(SMOKE)
    for name, (parameter, _, _) in BAD_PARAMETER.items():
        assert parameter in parameters_of(name), name


@pytest.mark.parametrize(("name", "parameter", "value", "expected"), [(n, *case) for n, case in BAD_PARAMETER.items()])
def test_a_bad_parameter_stops_the_chapter_in_its_first_cells(name, parameter, value, expected, tmp_path):
    stops_in_first_cells(name, tmp_path, {parameter: value}, expected)


def test_review_sweeps_deeper_than_the_tickets_they_are_compared_with_stop_the_chapter(tmp_path):
    stops_in_first_cells(
        "review",
        tmp_path,
        dict(scale="smoke", action_levels=5),
        ["action_levels=5", "scale smoke", "pruned 2 times", "valid: an integer from 1 to 2"],
    )


def test_rewind_beyond_lenet_training_at_the_scale_stops_the_chapter(tmp_path):
    stops_in_first_cells(
        "lottery-ticket",
        tmp_path,
        dict(scale="smoke", rewind=250),
        ["rewind=250", "scale smoke", "200 iterations", "valid: an integer from 0 to 199"],
    )


def stops_in_first_cells(name, tmp_path, parameters, expected):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        execute(name, tmp_path, **parameters)
    message = str(error.value)
    assert "ParameterError" in message
    for text in expected:
        assert text in message
    notebook = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert failed <= 2  # parameters, injected parameters, then the cell that checks them
    assert all(c.execution_count is None for c in code[failed + 1 :])


def test_an_unknown_parameter_is_refused_before_anything_runs(tmp_path):
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "lthlib",
            "chapter",
            "lottery-ticket",
            "-p",
            "scale",
            "smoke",
            "-p",
            "colour",
            "red",
            "--output",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lthlib: error: unknown parameter 'colour'")
    assert "valid: dataset, scale, trials" in lines[0] and "rewind" in lines[0]
    assert not (tmp_path / "runs").exists()  # nothing executed, nothing written


def test_an_unknown_chapter_is_refused_with_the_valid_ones(capsys):
    assert chapter_run.main(["lotery-ticket"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"lthlib: error: unknown chapter 'lotery-ticket'; valid: {', '.join(sorted(SMOKE))}"


def test_chapter_parameter_values_are_read_as_papermill_reads_them():
    assert [chapter_run.resolve_value(v) for v in ("True", "False", "None", "3", "-1", "0.5", "1e-3", "conv2:0")] == [
        True,
        False,
        None,
        3,
        -1,
        0.5,
        1e-3,
        "conv2:0",
    ]


def test_the_chapter_command_executes_and_renders_a_chapter(tmp_path, capsys):
    """``python -m lthlib chapter`` on MNIST-1D at smoke: executed notebook, new results, HTML with glued numbers."""
    runs = tmp_path / "runs"
    code = chapter_run.main(["foundations", "-p", "scale", "smoke", "-p", "dataset", "mnist1d", "--output", str(runs)])
    out = capsys.readouterr().out
    assert code == 0, out
    notebook = nbformat.read(runs / "foundations.ipynb", as_version=4)
    assert not code_outputs(notebook, "error")
    assert list((runs / "results").glob("dense/*/record.json"))
    html = (runs / "_build" / "html" / "foundations.html").read_text()
    assert f"HTML: {runs / '_build' / 'html' / 'foundations.html'}" in out
    assert "No convolutional network is trained here" in html  # a glued sentence, filled in
    assert "training dense lenet" not in html  # progress bars (stderr) are not rendered
    a_bad_value = chapter_run.main(["foundations", "-p", "trials", "0", "--output", str(runs), "--no-html"])
    assert a_bad_value == 2 and "ParameterError: parameter trials=0" in capsys.readouterr().err


def test_nbval_fails_when_a_committed_output_is_changed(tmp_path):
    notebook = nbformat.read(BOOK / "foundations.ipynb", as_version=4)
    splits = next(
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "execute_result" and "validation" in o["data"].get("text/plain", "")
    )
    splits["data"]["text/plain"] = splits["data"]["text/plain"].replace("validation", "held out")
    nbformat.write(notebook, tmp_path / "foundations.ipynb")
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path / "foundations.ipynb"),
            "--nbval",
            "--nbval-current-env",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert finished.returncode == 1, finished.stdout[-2000:]
    assert "1 failed" in finished.stdout and "held out" in finished.stdout
