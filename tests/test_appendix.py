"""Every command the README, the appendix and the chapters show, checked as the command line checks it.

The appendix (``book/running.md``) is the book's manual. Its commands, the README's, the introduction's and
those in the chapters' text are each parsed by the command line's own parser and checked before any work, as
``python -m lthlib ...`` checks them: settings resolved, datasets and records named, and a chapter's parameters
checked by the chapter's own first cell. The work itself is replaced, so nothing trains, downloads or writes to the
store. A ``make`` command must name a target of the Makefile; ``make run`` and ``make notebooks`` are checked as the
chapter commands they call. The appendix's Python examples are executed, in a temporary folder.
"""

from __future__ import annotations

import ast
import pathlib
import re
import shlex
import types

import nbformat
import pytest
import yaml
from markdown_it import MarkdownIt

from lthlib.analysis import chapter, conclusions
from lthlib.cli import chapter_run, commands
from lthlib.engine import bench, data, experiments, sweep
from lthlib.engine import verify as verify_module
from lthlib.engine.config import DEVICES
from lthlib.engine.store import Store, default_root

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
README = ROOT / "README.md"
APPENDIX = BOOK / "running.md"
DOCUMENTS = [README, APPENDIX, BOOK / "intro.md", *sorted(BOOK.glob("*.ipynb"))]

LTHLIB = (("python", "-m", "lthlib"), (".venv/bin/python", "-m", "lthlib"))
BENCHMARK = ("python", "benchmarks/throughput.py")
OTHERS = (("ray", "start"),)  # commands of other tools that the appendix shows in its blocks
SHELL = ("bash", "sh", "shell")
MARKDOWN = MarkdownIt("commonmark").enable("table")


def markdown_of(path: pathlib.Path) -> list[tuple[str, str]]:
    """``(where, text)``: the file, or each Markdown cell of a notebook."""
    if path.suffix != ".ipynb":
        return [(path.name, path.read_text())]
    cells = nbformat.read(path, as_version=4).cells
    return [
        (f"{path.name} cell {index}", cell.source) for index, cell in enumerate(cells) if cell.cell_type == "markdown"
    ]


def code_of(text: str, first_line: int = 1):
    """``(kind, code, line)``: each fenced block (kind: its language) and each inline code span (kind: ``span``),
    the bodies of MyST directives (``{admonition}`` and the like) read as the Markdown they are."""
    for token in MARKDOWN.parse(text):
        line = first_line + (token.map[0] if token.map else 0)
        if token.type == "fence" and token.info.strip().startswith("{"):
            yield from code_of(token.content, line + 1)
        elif token.type == "fence":
            yield token.info.strip().split(" ")[0], token.content, line + 1
        elif token.type == "inline":
            yield from (("span", child.content, line) for child in token.children if child.type == "code_inline")


def shown_commands(path: pathlib.Path) -> list[tuple[str, str, bool]]:
    """``(where, command, in_block)``: each line of a shell block, and each inline code span that is a command."""
    found = []
    for where, text in markdown_of(path):
        for kind, code, line in code_of(text):
            if kind == "span":
                command = " ".join(code.split())
                if command.startswith(("make ", *(" ".join(prefix) + " " for prefix in LTHLIB))):
                    found.append((f"{where}:{line}", command, False))
            elif kind in SHELL:
                pending = []
                for offset, part in enumerate(code.splitlines()):
                    pending.append(part.removesuffix("\\"))
                    if part.endswith("\\"):  # continued on the next line
                        continue
                    command, pending = " ".join(pending), []
                    if shlex.split(command, comments=True):
                        found.append((f"{where}:{line + offset}", command, True))
    return found


def committed_record() -> str:
    """A committed ``imp`` record, standing in for ``<hash>`` in the commands that name one."""
    return next(path.name for path in sorted((default_root() / "imp").iterdir()) if (path / "record.json").exists())


def expanded(command: str) -> list[str]:
    commands_ = [command.replace("<hash>", committed_record())]
    if "<name>" in command:
        commands_ = [command.replace("<name>", name) for name in chapter_run.chapters()]
    return commands_


def distinct_commands() -> dict[tuple[str, bool], str]:
    """Each command shown, once, with where it is first shown."""
    shown = {}
    for document in DOCUMENTS:
        for where, text, in_block in shown_commands(document):
            for command in expanded(text):
                shown.setdefault((command, in_block), where)
    return shown


SHOWN = [
    pytest.param(command, in_block, id=f"{where} {command[:60]}")
    for (command, in_block), where in distinct_commands().items()
]


def makefile_targets() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE).group(1).split()


class _Opened(Exception):
    """Raised where a chapter, its parameters checked, first asks the store for a result."""


@pytest.fixture
def dry(monkeypatch):
    """The command line with its work replaced: what each command would have started is recorded instead."""
    reached = []

    def result(config, store, device="cpu", **options):
        reached.append(("run", config))
        return {"runs": []}

    def verify(record, steps, device, all_levels, trials):
        assert (ROOT / record).exists(), record
        reached.append(("verify", record))
        return types.SimpleNamespace(ok=True, lines=lambda: [])

    def opened(*args, **kwargs):
        raise _Opened

    real_device = commands.resolve_device

    def device(name):  # a command for a GPU is checked on a machine without one too
        return "cpu" if name in DEVICES else real_device(name)

    monkeypatch.setattr(experiments, "result", result)
    monkeypatch.setattr(verify_module, "verify", verify)
    monkeypatch.setattr(sweep, "run", lambda configs, *args, **kwargs: reached.append(("sweep", configs)) or [])
    monkeypatch.setattr(bench, "main", lambda *args: reached.append(("bench", args)))
    monkeypatch.setattr(data, "prepare", lambda name: reached.append(("data", name)) or "")
    monkeypatch.setattr(Store, "check_writable", lambda self: None)
    monkeypatch.setattr(sweep, "unreachable", lambda host, port: None)  # a cluster named in the text answers
    monkeypatch.setattr(commands, "resolve_device", device)
    monkeypatch.setattr(chapter, "resolve_device", device)
    monkeypatch.setattr(chapter.Chapter, "result", opened)
    monkeypatch.setattr(chapter.Chapter, "results_together", opened)
    return reached


def check_chapter(argv: list[str], reached: list) -> None:
    """``python -m lthlib chapter`` up to its notebook's first cell: the names as the command checks them, then
    the values as the chapter's own call of :func:`lthlib.analysis.chapter.open` (or, for the conclusions, of
    :func:`lthlib.analysis.conclusions.gather`) checks them, at the parameters cell's values and without training."""
    notebook_path, parameters = chapter_run.check(chapter_run.parser().parse_args(argv))
    code = [cell for cell in nbformat.read(notebook_path, as_version=4).cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), notebook_path
    namespace = {"chapter": chapter, "conclusions": conclusions}
    exec(code[0].source, namespace)
    namespace.update(parameters, allow_train=False, store=None)
    call = next(
        node.value
        for node in ast.parse(code[1].source).body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) in ("chapter.open", "conclusions.gather")
    )
    try:
        eval(compile(ast.Expression(call), str(notebook_path), "eval"), namespace)
    except _Opened:
        pass
    reached.append(("chapter", argv))


def check_make(words: list[str], reached: list) -> None:
    target, variables = words[0], dict(word.split("=", 1) for word in words[1:])
    assert target in makefile_targets(), f"make {target}: no such target"
    if target == "run":
        check_chapter([variables.pop("CHAPTER"), *shlex.split(variables.pop("PARAMS", ""))], reached)
    elif target == "notebooks":
        names = variables.pop("CHAPTERS", "").split()
        assert set(names) <= set(chapter_run.chapters()), names
    assert not variables, f"make {target} does not read {', '.join(variables)}"


@pytest.mark.parametrize(("command", "in_block"), SHOWN)
def test_every_command_shown_parses_and_passes_the_checks_made_before_any_work(command, in_block, dry, capsys):
    words = shlex.split(command, comments=True)
    lthlib_prefix = next((prefix for prefix in LTHLIB if tuple(words[:3]) == prefix), None)
    if lthlib_prefix is None and tuple(words[:2]) == BENCHMARK:
        lthlib_prefix, words = BENCHMARK, ["python", "-m", "lthlib", "bench", *words[2:]]
    if words[0] == "make":
        if len(words) == 2 and not in_block:  # a target named in the text
            assert words[1] in makefile_targets(), command
            return
        check_make(words[1:], dry)
        return
    if lthlib_prefix is None:
        assert in_block and tuple(words[:2]) in OTHERS, f"not a command of this repository: {command}"
        return
    argv = words[3:]
    if len(argv) == 1 and not in_block or any(word.startswith("[") for word in argv):  # a name or a synopsis
        assert argv[0] in commands.COMMANDS, command
        return
    if argv[0] == "chapter":
        check_chapter(argv[1:], dry)
    elif "--help" in argv:
        with pytest.raises(SystemExit) as exit_:
            commands.main(argv)
        assert exit_.value.code == 0 and "--dataset" in capsys.readouterr().out
        return
    else:
        code = commands.main(argv)
        assert code == 0, capsys.readouterr().err
    assert dry, f"{command} was refused or never got to its work"


def test_each_document_shows_commands_and_the_appendix_all_of_the_command_line():
    shown = {document.name: [text for _, text, _ in shown_commands(document)] for document in DOCUMENTS}
    assert all(shown.values()), [name for name, found in shown.items() if not found]
    appendix = " ".join(shown[APPENDIX.name])
    for name in commands.COMMANDS:
        assert f"-m lthlib {name} " in appendix, name
    for target in makefile_targets():
        assert f"make {target}" in appendix or f"`make {target}`" in APPENDIX.read_text(), target


def test_the_appendix_is_in_the_book_after_the_chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for entry in toc["chapters"]]
    assert "book/running" in files
    notebooks = [index for index, name in enumerate(files) if (ROOT / f"{name}.ipynb").exists()]
    assert files.index("book/running") > max(notebooks)


def test_the_readme_opens_with_the_command_that_builds_the_book_and_the_one_ci_runs():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, "the README is for readers: the manual is the appendix, book/running.md"
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    ci = [line for line in script if line and not line.startswith(("#", "set ", "cd "))]
    opening = [line.split("#")[0].strip() for line in lines[:15]]
    assert "make book" in opening and ci == ["make test"] and "make test" in opening, (ci, opening)


def test_the_appendix_python_examples_run(tmp_path, monkeypatch):
    blocks = [code for kind, code, _ in code_of(APPENDIX.read_text()) if kind == "python"]
    assert blocks
    monkeypatch.chdir(tmp_path)
    before = data.names()
    try:
        for block in blocks:
            exec(compile(block, str(APPENDIX), "exec"), {})
    finally:
        for name in set(data.names()) - set(before):
            data.unregister(name)
    assert list(tmp_path.glob("my-results/*/*/record.json"))
