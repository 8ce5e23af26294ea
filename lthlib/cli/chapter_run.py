"""``python -m lthlib chapter NAME [-p KEY VALUE ...] [--store DIR]``: re-execute one chapter and render it.

The chapter notebook ``book/NAME.ipynb`` is executed with papermill into
``runs/NAME.ipynb``, with ``allow_train=True`` and ``store=runs/results``
(the committed store ``book/results`` is still read first), then rendered
to HTML with its glued numbers by a small Jupyter Book build of ``runs/``
(execution off: the executed notebook is the source) into
``runs/_build/html``. ``-p KEY VALUE`` sets a parameter of the notebook's
``parameters`` cell; values are read as papermill's ``-p`` reads them
(``True``/``False``/``None``, integers, floats, else text).

An unknown chapter or parameter name is refused before anything runs: one
line ``lthlib: error: ...`` on stderr naming it and the valid ones, exit
code 2. A bad parameter *value* is the notebook's own business: it stops in
its first cells with a ``ParameterError`` (exit code 2 here too); any other
error in the notebook exits with 1. Both leave the executed notebook, with
the error in it, at ``runs/NAME.ipynb``.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys

from .arguments import Parser, UsageError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
PROG = "python -m lthlib chapter"
# The parameters this command sets itself; -p overrides them (papermill's order: later wins).
FIXED = {"allow_train": True}


def parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Re-execute a chapter notebook with papermill, computing what the store "
        "lacks, and render it to HTML.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help=f"the chapter: one of {', '.join(chapters())}")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a parameter of the notebook's parameters cell (as papermill's -p)",
    )
    p.add_argument("--store", help="where new results go (default: OUTPUT/results); book/results is read first")
    p.add_argument(
        "--output",
        default=str(ROOT / "runs"),
        help="directory of the executed notebooks and their HTML build (default: runs/)",
    )
    p.add_argument("--no-html", action="store_true", help="execute only; skip the Jupyter Book build")
    return p


def chapters() -> list[str]:
    """The chapter notebooks in ``book/``, by name."""
    return sorted(path.stem for path in BOOK.glob("*.ipynb"))


def resolve_value(text: str):
    """A ``-p`` value as papermill reads it: True, False, None, an int, a float, else the text itself."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def notebook_parameters(path: pathlib.Path) -> list[str]:
    """The names in the notebook's ``parameters`` cell, in order."""
    import papermill

    return list(papermill.inspect_notebook(str(path)))


def check(args) -> tuple[pathlib.Path, dict]:
    """The chapter's notebook and the parameters to inject; :class:`UsageError` for an unknown name."""
    valid = chapters()
    if not args.name:
        raise UsageError(f"name a chapter; valid: {', '.join(valid)}")
    if args.name not in valid:
        raise UsageError(f"unknown chapter {args.name!r}; valid: {', '.join(valid)}")
    notebook = BOOK / f"{args.name}.ipynb"
    names = notebook_parameters(notebook)
    parameters = {}
    for key, text in args.parameter:
        if key not in names:
            raise UsageError(f"unknown parameter {key!r} for chapter {args.name}; valid: {', '.join(names)}")
        parameters[key] = resolve_value(text)
    return notebook, parameters


def execute(notebook: pathlib.Path, output: pathlib.Path, parameters: dict):
    """Run ``notebook`` with papermill into ``output`` (cwd ``book/``); the training bars go to stderr."""
    import papermill

    return papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        cwd=str(BOOK),
        kernel_name="python3",
        progress_bar=False,
        stderr_file=sys.stderr,
        shutdown_kernel="immediate",  # the notebook has finished: a graceful shutdown only waits seconds more
    )


def refresh(names=None) -> None:
    """Execute the book chapters ``names`` (default: all) in place against the committed store (cwd ``book/``),
    without timing metadata.

    Their outputs are the committed ones that nbval compares and the book shows (``make notebooks``).
    """
    import nbformat
    from nbclient import NotebookClient

    for name in names or chapters():
        path = BOOK / f"{name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(BOOK)}}
        ).execute()
        nbformat.write(notebook, path)


def write_book_config(output: pathlib.Path, name: str) -> None:
    """A Jupyter Book in ``output``: the executed chapters (``name`` first) and the references, execution off."""
    shutil.copyfile(BOOK / "references.bib", output / "references.bib")
    shutil.copyfile(BOOK / "references.md", output / "references.md")
    executed = [name] + [other for other in chapters() if other != name and (output / f"{other}.ipynb").exists()]
    (output / "_config.yml").write_text(
        "# Generated by python -m lthlib chapter: the executed chapters, rendered without executing them again.\n"
        'title: "Lottery tickets, read critically: re-executed chapters"\n'
        "only_build_toc_files: true\n"
        "exclude_patterns: [_build, results]\n"
        "execute:\n"
        '  execute_notebooks: "off"\n'
        "bibtex_bibfiles:\n"
        "  - references.bib\n"
        "sphinx:\n"
        "  extra_extensions:\n"
        "    - sphinxcontrib.bibtex\n"
        "  local_extensions:\n"
        f"    theme_fixes: {BOOK / '_ext'}\n"
        "  config:\n"
        "    bibtex_reference_style: author_year\n"
        '    suppress_warnings: ["ref.ref", "ref.doc"]\n'
        "    nb_output_stderr: remove  # training progress bars\n"
    )
    (output / "_toc.yml").write_text(
        "# Generated by python -m lthlib chapter.\n"
        "format: jb-book\n"
        f"root: {executed[0]}\n"
        "chapters:\n" + "".join(f"  - file: {other}\n" for other in [*executed[1:], "references"])
    )


def build_html(output: pathlib.Path) -> subprocess.CompletedProcess:
    """``jupyter-book build output`` into ``output/_build/html``."""
    command = [str(pathlib.Path(sys.executable).parent / "jupyter-book"), "build", str(output), "--quiet"]
    if not pathlib.Path(command[0]).exists():
        command = [sys.executable, "-m", "jupyter_book.cli.main", "build", str(output), "--quiet"]
    return subprocess.run(command, capture_output=True, text=True)


def _error(message: str) -> None:
    print(f"lthlib: error: {message}", file=sys.stderr)


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        notebook, parameters = check(args)
    except UsageError as error:
        _error(str(error))
        return 2
    output = pathlib.Path(args.output).resolve()
    store = pathlib.Path(args.store).resolve() if args.store else output / "results"
    if isinstance(parameters.get("store"), str):  # -p store DIR: as --store DIR (relative to here, not book/)
        store = pathlib.Path(parameters.pop("store")).resolve()
    output.mkdir(parents=True, exist_ok=True)
    executed = output / f"{args.name}.ipynb"
    import papermill

    try:
        execute(notebook, executed, {**FIXED, "store": str(store), **parameters})
    except papermill.PapermillExecutionError as error:
        _error(
            f"chapter {args.name} stopped in cell {error.exec_count}: {error.ename}: {error.evalue} "
            f"(the executed notebook: {executed})"
        )
        return 2 if error.ename == "ParameterError" else 1
    print(f"executed notebook: {executed}")
    print(f"new results: {store}")
    if args.no_html:
        return 0
    write_book_config(output, args.name)
    built = build_html(output)
    html = output / "_build" / "html" / f"{args.name}.html"
    if built.returncode != 0 or not html.exists():
        sys.stderr.write(built.stdout[-3000:] + built.stderr[-3000:])
        _error(f"the HTML build of {output} failed (exit code {built.returncode})")
        return 1
    print(f"HTML: {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
