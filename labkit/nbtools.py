"""Notebook files: execute them against the sandbox, keep their stored outputs clean, write the handout.

    python -m labkit.nbtools outputs   # re-execute every notebook in place (the stored outputs nbval checks)
    python -m labkit.nbtools run       # execute every notebook in order, write an HTML handout
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbval.plugin import find_comment_markers

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
HANDOUT = NOTEBOOKS.parent / "build" / "handout.html"
# What must never be stored in a checked output: machine paths, memory addresses, BuildKit progress and timings.
VOLATILE = re.compile(r"(/root/|/home/|/tmp/|/work/|0x[0-9a-f]{8,}|#\d+ DONE \d|\d+\.\d+s done|\[\s*\d+/\d+\])")


def notebook_paths() -> list[Path]:
    """The lab's notebooks, in the order they are run."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def is_checked(cell: Any) -> bool:
    """True for a code cell whose output nbval compares (asked of nbval's own marker parser)."""
    if cell.cell_type != "code":
        return False
    markers = dict(find_comment_markers(cell.source))
    return markers.get("check", True) and not markers.get("skip", False)


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


def _execute(notebook: Any, name: str) -> Any:
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as error:
        last = str(error).strip().splitlines()[-1]
        raise SystemExit(f"{name}: a cell failed: {last}\nOpen the notebook in JupyterLab (`make lab`) to see it.") from None
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
