"""Notebook files: execute them against the sandbox, keep their stored outputs clean, write the handout.

    python -m labkit.nbtools outputs   # re-execute every notebook in place (the stored outputs nbval checks)
    python -m labkit.nbtools run       # execute every notebook in order, write an HTML handout
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbval.plugin import find_comment_markers, find_metadata_tags

from labkit.views.text import cell_error_lines

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# The reviewed list of cells whose output nbval does not compare, one entry per cell, each with its reason.
UNCHECKED_CELLS = NOTEBOOKS / "unchecked-cells.toml"
# How an ignored cell tells the learner why: `# (not checked: <the listed reason>)`.
NOT_CHECKED_LINE = re.compile(r"^# \(not checked: (.+)\)$", re.MULTILINE)
HANDOUT = NOTEBOOKS.parent / "build" / "handout.html"
# What must never be stored in a checked output: machine paths, memory addresses, BuildKit progress and timings.
VOLATILE = re.compile(r"(/root/|/home/|/tmp/|/work/|0x[0-9a-f]{8,}|#\d+ DONE \d|\d+\.\d+s done|\[\s*\d+/\d+\])")


def notebook_paths() -> list[Path]:
    """The lab's notebooks, in the order they are run."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def nbval_options(cell: Any) -> dict[str, bool]:
    """A code cell's nbval options, read as nbval reads them: its tags, then its comment markers over them."""
    options = dict(find_metadata_tags(cell.metadata))
    options.update(find_comment_markers(cell.source))
    return options


def is_checked(cell: Any) -> bool:
    """True for a code cell whose output nbval compares (asked of nbval's own marker and tag parsers)."""
    if cell.cell_type != "code":
        return False
    options = nbval_options(cell)
    return options.get("check", True) and not options.get("skip", False)


def is_ignored(cell: Any) -> bool:
    """True for a code cell marked so that nbval runs it but does not compare its output."""
    return cell.cell_type == "code" and not nbval_options(cell).get("check", True)


@dataclass(frozen=True)
class UncheckedCell:
    """One entry of the reviewed list: a cell whose output nbval does not compare, and why."""

    notebook: str
    cell_id: str
    reason: str


def unchecked_cells(path: Path = UNCHECKED_CELLS) -> list[UncheckedCell]:
    """The reviewed list of cells whose output nbval does not compare."""
    entries = tomllib.loads(path.read_text()).get("cell", [])
    return [UncheckedCell(str(entry.get("notebook", "")), str(entry.get("id", "")), str(entry.get("reason", "")).strip())
            for entry in entries]


def unchecked_problems(notebooks: dict[str, Any], listed: list[UncheckedCell]) -> list[str]:
    """Where the notebooks (by file name) and the reviewed list disagree on which cells nbval does not check, and why."""
    found = []
    cells = {(name, cell.get("id")): cell for name, notebook in notebooks.items() for cell in notebook.cells}
    keys = [(entry.notebook, entry.cell_id) for entry in listed]
    for entry, key in zip(listed, keys, strict=True):
        where = f"{entry.notebook} cell {entry.cell_id!r}"
        cell = cells.get(key)
        if keys.count(key) > 1:
            found.append(f"{where}: listed more than once")
        if not entry.reason:
            found.append(f"{where}: listed without a reason")
        if cell is None:
            found.append(f"{where}: listed, but there is no such cell")
        elif not is_ignored(cell):
            found.append(f"{where}: listed, but not marked `# NBVAL_IGNORE_OUTPUT` (its output is checked)")
        elif (said := NOT_CHECKED_LINE.search(cell.source)) is None or said.group(1) != entry.reason:
            found.append(f"{where}: its `# (not checked: ...)` line must give the listed reason, {entry.reason!r}")
    for key, cell in cells.items():
        if is_ignored(cell) and key not in keys:
            found.append(f"{key[0]} cell {key[1]!r}: its output is not checked, but it is not on {UNCHECKED_CELLS.name}")
    return found


def clean(notebook: Any) -> Any:
    """Drop volatile metadata (timings, widget state) but keep outputs; number code cells 1, 2, 3, …

    nbval needs an execution count on every cell with outputs; counting in cell order keeps it stable.
    """
    notebook.metadata = {key: notebook.metadata[key] for key in ("kernelspec", "language_info") if key in notebook.metadata}
    notebook.metadata.get("language_info", {}).pop("version", None)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in notebook.cells:
        cell.metadata = {key: value for key, value in cell.metadata.items() if key == "tags"}
    for count, cell in enumerate(code_cells, start=1):
        cell.execution_count = count
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = count
    return notebook


def problems(notebook: Any) -> list[str]:
    """Volatile metadata or outputs a stored notebook must not hold."""
    found = []
    extra = set(notebook.metadata) - {"kernelspec", "language_info"}
    if extra:
        found.append(f"notebook metadata {sorted(extra)}")
    count = 0
    for number, cell in enumerate(notebook.cells):
        if set(cell.metadata) - {"tags"}:
            found.append(f"cell {number}: metadata {sorted(cell.metadata)}")
        if cell.cell_type != "code":
            continue
        count += 1
        if cell.execution_count != count:
            found.append(f"cell {number}: execution count {cell.execution_count}, expected {count} (cells run in order)")
        if not cell.outputs:
            found.append(f"cell {number}: no stored output")
        if is_checked(cell):
            match = VOLATILE.search(json.dumps(cell.outputs))
            if match:
                found.append(f"cell {number}: checked output holds {match.group(0)!r}")
    return found


def failure_message(name: str, cell: Any, ename: str, evalue: str) -> str:
    """What `make run` and `make outputs` say when a cell fails: which cell, then what the learner sees."""
    code = [line.strip() for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join([
        f"{name}: cell {cell.get('id', '?')} failed ({code[0] if code else 'no code'})",
        *cell_error_lines(ename, evalue),
        "Open the notebook in JupyterLab (`make lab`) to see it.",
    ])


def _execute(notebook: Any, name: str) -> Any:
    failed: list[Any] = []
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}},
                            on_cell_error=lambda cell, cell_index, execute_reply: failed.append(cell))
    try:
        client.execute()
    except CellExecutionError as error:
        raise SystemExit(failure_message(name, failed[-1], error.ename, error.evalue)) from None
    return notebook


def outputs() -> None:
    """Re-execute every notebook in place, cleaned, and report anything volatile left in checked outputs."""
    for path in notebook_paths():
        print(f"executing {path.name}", flush=True)
        notebook = clean(_execute(nbformat.read(path, as_version=4), path.name))
        nbformat.write(notebook, path)
        for problem in problems(notebook):
            print(f"  {path.name}: {problem}")


def run() -> Path:
    """Execute every notebook in order (not in place) and write them as one HTML handout."""
    merged = nbformat.v4.new_notebook(metadata=nbformat.read(notebook_paths()[0], as_version=4).metadata)
    for path in notebook_paths():
        print(f"executing {path.name}", flush=True)
        merged.cells += _execute(nbformat.read(path, as_version=4), path.name).cells
    HANDOUT.parent.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(merged)
    HANDOUT.write_text(body)
    print(f"handout: {HANDOUT}")
    return HANDOUT


def main(argv: list[str] | None = None) -> int:
    """`python -m labkit.nbtools outputs|run`."""
    parser = argparse.ArgumentParser(prog="python -m labkit.nbtools")
    parser.add_argument("action", choices=("outputs", "run"))
    args = parser.parse_args(argv)
    outputs() if args.action == "outputs" else run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
