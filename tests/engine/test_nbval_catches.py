"""nbval is not a formality: a stored output edited to a wrong value fails the run, and so does an error in any cell.

Each mutation below is applied, in a copy of a notebook, to one checked cell whose stored output holds it; nbval
re-runs the copy against the sandbox and must fail exactly the mutated cells, showing the mutated text. Mutations
that fall in distinct cells share one copy (one nbval run); a second copy is made only when two would share a cell.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from labkit import nbtools
from labkit.docker.endpoints import Endpoints


@dataclass(frozen=True)
class Mutation:
    """A wrong value a stored output could drift to: what `find` (a regex) matches becomes `replace`."""

    kind: str
    find: str
    replace: str

    def applied(self, text: str) -> str:
        """The text with the mutation applied."""
        return re.sub(self.find, lambda _: self.replace, text)


MUTATIONS = (
    Mutation("platform", r"linux/arm64(/v8)?\b", "linux/arm/v7"),
    Mutation("media type", re.escape("application/vnd.oci.image.index.v1+json"),
             "application/vnd.docker.distribution.manifest.list.v2+json"),
    Mutation("step 2 error", "Multi-platform build is not supported for the docker driver",
             "Multi-platform build is not supported for the docker-container driver"),
    Mutation("verified", re.escape("[OK] Verified: "), "[OK] Verified (edited): "),
    Mutation("unanswered", re.escape(": not answered yet."), ": answered right."),
)
# What each notebook's checked outputs must give the mutations to work on, at the least.
EXPECTED = {
    "00_start_here.ipynb": {"verified"},
    "01_the_dockerfile.ipynb": {"platform", "media type", "verified", "unanswered"},
    "02_the_build_that_fails.ipynb": {"platform", "step 2 error", "verified", "unanswered"},
    "03_the_build_that_works.ipynb": {"platform", "media type", "verified", "unanswered"},
    "04_inspect_the_index.ipynb": {"platform", "media type", "verified", "unanswered"},
    "05_every_variant.ipynb": {"platform", "media type", "verified", "unanswered"},
    "06_without_buildkit.ipynb": {"platform", "media type", "verified", "unanswered"},
    "07_interview_practice.ipynb": {"verified", "unanswered"},
    "08_after_the_experiment.ipynb": {"platform", "media type", "verified", "unanswered"},
}
# The mime types nbval compares in a display_data or execute_result output (library-notes.md).
COMPARED = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml")


def _texts(cell: Any) -> list[tuple[Any, str]]:
    """The (holder, key) of every text nbval compares in a cell's stored outputs."""
    found = []
    for output in cell.outputs:
        if output.output_type == "stream":
            found.append((output, "text"))
        elif output.output_type in ("display_data", "execute_result"):
            found += [(output.data, key) for key in COMPARED if key in output.data]
    return found


def _applies(mutation: Mutation, cell: Any) -> bool:
    """The cell's checked output holds the value, and neither its output nor its source already holds the wrong one."""
    texts = [holder[key] for holder, key in _texts(cell)]
    return (nbtools.is_checked(cell) and any(re.search(mutation.find, text) for text in texts)
            and not any(mutation.replace in text for text in [*texts, cell.source]))


def _in_a_command_output(mutation: Mutation, cell: Any) -> bool:
    """The value sits in what a command printed (`[context] $ docker …`, `exit code N`, …), not only in prose or a table."""
    return any(re.search(mutation.find, text) and text.startswith("[") and "\nexit code " in text
               for text in (holder[key] for holder, key in _texts(cell)))


def plan(notebook: Any) -> list[dict[int, Mutation]]:
    """Copies to make: in each, code cell number -> its mutation; each mutation once, in a command's output where it can."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    candidates = {m: sorted((n for n, cell in enumerate(code) if _applies(m, cell)),
                            key=lambda n: (not _in_a_command_output(m, code[n]), n)) for m in MUTATIONS}
    copies: list[dict[int, Mutation]] = []
    for mutation in sorted((m for m in MUTATIONS if candidates[m]), key=lambda m: len(candidates[m])):
        for copy in [*copies, {}]:
            free = [n for n in candidates[mutation] if n not in copy]
            if free:
                copy[free[0]] = mutation
                if len(copy) == 1:
                    copies.append(copy)
                break
    return copies


def _mutated(notebook: Any, mutations: dict[int, Mutation]) -> Any:
    edited = nbformat.reads(nbformat.writes(notebook), as_version=4)
    code = [cell for cell in edited.cells if cell.cell_type == "code"]
    for number, mutation in mutations.items():
        for holder, key in _texts(code[number]):
            holder[key] = mutation.applied(holder[key])
    return edited


RAISES = 'from labkit.errors import LabError\n\nraise LabError("The registry did not answer.", "run `labkit up`.")'
FRIENDLY = ["labkit: The registry did not answer.", "  try: run `labkit up`."]
LAB_ERRORS = "01-with-lab-errors.ipynb"


def _with_lab_errors(folder: Path) -> tuple[Path, list[str]]:
    """A copy of notebook 01 with two cells after the lab is opened that raise LabError: one checked, one not."""
    notebook = nbformat.read(nbtools.NOTEBOOKS / "01_the_dockerfile.ipynb", as_version=4)
    opened = next(n for n, cell in enumerate(notebook.cells) if "nb.open_lab()" in cell.source)
    ignored = f"# NBVAL_IGNORE_OUTPUT\n# (not checked: raises)\n{RAISES}"
    added = [nbformat.v4.new_code_cell(RAISES, id="01-checked-error", execution_count=1),
             nbformat.v4.new_code_cell(ignored, id="01-ignored-error", execution_count=1)]
    assert nbtools.is_checked(added[0]) and nbtools.is_ignored(added[1])
    notebook.cells[opened + 1:opened + 1] = [cell for new in added for cell in (nbformat.v4.new_markdown_cell("An error."), new)]
    copy = folder / LAB_ERRORS
    nbformat.write(notebook, copy)
    code = [cell.get("id") for cell in notebook.cells if cell.cell_type == "code"]
    return copy, [f"Cell {code.index(cell.id)}" for cell in added]


@dataclass(frozen=True)
class NbvalRun:
    """One nbval run over every copy: what was mutated where, and each cell's failure text (None when it passed)."""

    mutated: dict[str, list[tuple[str, dict[int, Mutation]]]]  # notebook -> (copy's file name, code cell number -> mutation)
    raising: list[str]  # the test items of the LAB_ERRORS copy's cells that raise
    items: dict[str, dict[str, str | None]]  # copy's file name -> test item ("Cell 3") -> failure text or None


@pytest.fixture(scope="module")
def nbval_run(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> NbvalRun:
    """Write every copy into one folder and run nbval over all of them at once (one pytest start, one kernel per copy)."""
    folder = tmp_path_factory.mktemp("nbval-copies")
    mutated: dict[str, list[tuple[str, dict[int, Mutation]]]] = {}
    for path in nbtools.notebook_paths():
        notebook = nbformat.read(path, as_version=4)
        mutated[path.name] = []
        for number, mutations in enumerate(plan(notebook)):
            copy = folder / f"{path.stem}-mutated-{number}.ipynb"
            nbformat.write(_mutated(notebook, mutations), copy)
            mutated[path.name].append((copy.name, mutations))
    _, raising = _with_lab_errors(folder)
    report = folder / "nbval.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-vv", "-p", "no:cacheprovider", "--color=no", f"--rootdir={folder}",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(nbtools.NOTEBOOKS / "sanitize.cfg"),
         "--nbval-cell-timeout=300", f"--junitxml={report}", *sorted(p.name for p in folder.glob("*.ipynb"))],
        capture_output=True, text=True, timeout=900, cwd=folder, check=False,
    )
    items: dict[str, dict[str, str | None]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        failed = case.find("failure")
        if failed is None:
            failed = case.find("error")
        text = None if failed is None else f"{failed.get('message', '')}\n{failed.text or ''}"
        items.setdefault(case.get("classname", ""), {})[case.get("name", "")] = text
    return NbvalRun(mutated, raising, items)


def test_every_notebook_offers_the_mutations_it_must() -> None:
    for path in nbtools.notebook_paths():
        applied = {m.kind for copy in plan(nbformat.read(path, as_version=4)) for m in copy.values()}
        assert applied >= EXPECTED[path.name], f"{path.name}: {sorted(EXPECTED[path.name] - applied)} no longer apply"
    assert set(EXPECTED) == {path.name for path in nbtools.notebook_paths()}


@pytest.mark.parametrize("path", nbtools.notebook_paths(), ids=lambda p: p.name[:2])
def test_nbval_fails_every_mutated_cell_and_only_those(nbval_run: NbvalRun, path: Path) -> None:
    code_cells = sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)
    assert nbval_run.mutated[path.name]
    for name, mutations in nbval_run.mutated[path.name]:
        items = nbval_run.items[name]
        assert len(items) == code_cells
        failed = {item for item, text in items.items() if text is not None}
        assert failed == {f"Cell {n}" for n in mutations}, f"{name}: {sorted(failed)} failed, {sorted(mutations)} mutated"
        for n, mutation in mutations.items():
            assert mutation.replace in (items[f"Cell {n}"] or ""), f"{name} Cell {n}: the {mutation.kind} mutation is not shown"


def test_a_lab_error_fails_nbval_in_a_checked_cell_and_in_an_ignored_one(nbval_run: NbvalRun) -> None:
    items = nbval_run.items[LAB_ERRORS]
    assert {item for item, text in items.items() if text is not None} == set(nbval_run.raising)
    for item in nbval_run.raising:
        text = items[item] or ""
        assert "Cell execution caused an exception" in text and "\n".join(FRIENDLY) in text
        assert "Traceback (most recent call last)" not in text and ".py" not in text


def test_a_lab_error_shows_the_learner_two_lines_and_no_traceback(endpoints: Endpoints, tmp_path: Path) -> None:
    copy, _ = _with_lab_errors(tmp_path)
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = {cell.id: [o for o in cell.outputs if o.output_type == "error"] for cell in notebook.cells if cell.cell_type == "code"}
    assert {cell_id for cell_id, found in errors.items() if found} == {"01-checked-error", "01-ignored-error"}
    for cell_id in ("01-checked-error", "01-ignored-error"):
        [error] = errors[cell_id]
        assert (error.ename, error.traceback) == ("LabError", FRIENDLY)

    with pytest.raises(SystemExit) as stopped:
        nbtools._execute(nbformat.read(copy, as_version=4), copy.name)
    assert str(stopped.value).splitlines() == [
        f"{copy.name}: cell 01-checked-error failed (from labkit.errors import LabError)",
        *FRIENDLY,
        "Open the notebook in JupyterLab (`make lab`) to see it.",
    ]
