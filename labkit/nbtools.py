"""Notebook files: execute them against the sandbox, keep their stored outputs clean, write the handout.

    python -m labkit.nbtools outputs   # re-execute every notebook in place (the stored outputs nbval checks)
    python -m labkit.nbtools run       # execute every notebook in order, write an HTML handout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# nbformat validates notebooks with jsonschema, which checks the "iri" formats with rfc3987-syntax when it can import
# it; that import builds a Lark grammar and takes about a second. The lab's notebooks use no such format: skip it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import nbformat
import zmq
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbval.plugin import coalesce_streams, find_comment_markers, find_metadata_tags
from traitlets.config import Config

from labkit.views.text import cell_error_lines

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# The reviewed list of cells whose output nbval does not compare, one entry per cell, each with its reason.
UNCHECKED_CELLS = NOTEBOOKS / "unchecked-cells.toml"
# How an ignored cell tells the learner why: `# (not checked: <the listed reason>)`.
NOT_CHECKED_LINE = re.compile(r"^# \(not checked: (.+)\)$", re.MULTILINE)
HANDOUT = NOTEBOOKS.parent / "build" / "handout.html"
# What must never be stored in a checked output: machine paths, memory addresses, BuildKit progress and timings.
VOLATILE = re.compile(r"(/root/|/home/|/tmp/|/work/|0x[0-9a-f]{8,}|#\d+ DONE \d|\d+\.\d+s done|\[\s*\d+/\d+\])")
# Kernels talk over TCP encrypted with CurveZMQ keys their manager provisions (as etc/jupyter sets for JupyterLab):
# without them ipykernel logs "Kernel is running over TCP without encryption" at every start.
KERNEL_CONFIG = Config({"KernelManager": {"transport_encryption": "auto"}} if zmq.has("curve") else {})
# How long a kernel may take to answer: on a host shared by a class, many kernels start at once (nbclient's 60 s is
# too short there).
KERNEL_STARTUP_TIMEOUT = 300
# What nbclient passes to a kernel it starts itself: IPython's history stays in memory.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
# What every notebook imports first: a kernel started ahead of its notebook imports it then, silently (no output, no
# execution count), so that the notebook's first cell does not wait for pandas and python-on-whales to load.
WARM_UP = "import labkit.lab"


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

    nbval needs an execution count on every cell with outputs; counting in cell order keeps it stable. Stream outputs
    are merged per stream, as nbval merges them before comparing.
    """
    notebook.metadata = {key: notebook.metadata[key] for key in ("kernelspec", "language_info") if key in notebook.metadata}
    notebook.metadata.get("language_info", {}).pop("version", None)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in notebook.cells:
        cell.metadata = {key: value for key, value in cell.metadata.items() if key == "tags"}
    for count, cell in enumerate(code_cells, start=1):
        cell.execution_count = count
        cell.outputs = coalesce_streams(cell.outputs)  # how the kernel chunks a stream varies; nbval compares them merged
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


async def _execute_async(notebook: Any, name: str, km: AsyncKernelManager | None = None) -> Any:
    """Execute a notebook in a fresh kernel (the given one, else one of its own), stopped when it is done."""
    failed: list[Any] = []
    client = NotebookClient(notebook, km=km, timeout=600, startup_timeout=KERNEL_STARTUP_TIMEOUT, kernel_name="python3",
                            config=KERNEL_CONFIG, shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(NOTEBOOKS)}},
                            on_cell_error=lambda cell, cell_index, execute_reply: failed.append(cell))
    try:
        await client.async_execute(cleanup_kc=True)
    except CellExecutionError as error:
        raise NotebookFailed(failure_message(name, failed[-1], error.ename, error.evalue)) from None
    return notebook


class NotebookFailed(Exception):
    """A cell failed; the message says which, and what the learner saw."""


def _ending_program_on_failure(run: Callable[[], Any]) -> Any:
    """Run; a failed notebook (or several, side by side) ends the program with what the learner sees."""
    try:
        return run()
    except NotebookFailed as failure:
        raise SystemExit(str(failure)) from None
    except BaseExceptionGroup as group:  # chains side by side: what stopped the others is not news
        failures, _ = group.split(NotebookFailed)
        if failures is None:
            raise
        raise SystemExit("\n\n".join(str(failure) for failure in _leaves(failures))) from None


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    """The exceptions of a (nested) exception group."""
    return [leaf for inner in group.exceptions
            for leaf in (_leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])]


def _execute(notebook: Any, name: str) -> Any:
    """Execute one notebook in a kernel of its own; a failed cell ends the program with what the learner sees."""
    return _ending_program_on_failure(lambda: asyncio.run(_execute_async(notebook, name)))


async def _started_kernel() -> AsyncKernelManager:
    """A kernel for the next notebook, started, ready and warmed up (WARM_UP) while the current notebook runs."""
    km = AsyncKernelManager(kernel_name="python3", config=KERNEL_CONFIG)
    await km.start_kernel(cwd=str(NOTEBOOKS), extra_arguments=KERNEL_ARGUMENTS)
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=KERNEL_STARTUP_TIMEOUT)
        await client.execute_interactive(WARM_UP, silent=True, store_history=False, timeout=60)
    finally:
        client.stop_channels()
    return km


# `make run` and `make outputs` run the notebooks in chains side by side, each chain in order and each notebook in a
# kernel of its own; nbval (`make test`) runs them one by one, so a chain that changed another's outputs would fail
# there. 00-02 use the classic daemon (02 switches its current builder and back); 03-04 build on the containerd-store
# daemon, and 04 reads what 03 pushed. A notebook in no chain runs after all of them, in order.
CHAINS = (("00", "01", "02"), ("03", "04"))


def schedule(paths: list[Path], chains: tuple[tuple[str, ...], ...] = CHAINS) -> tuple[list[list[Path]], list[Path]]:
    """The chains of notebooks run side by side (each in order), and every notebook left, to run after them in order."""
    by_number = {path.name[:2]: path for path in paths}
    side_by_side = [[by_number[number] for number in chain if number in by_number] for chain in chains]
    placed = {path for chain in side_by_side for path in chain}
    return [chain for chain in side_by_side if chain], [path for path in paths if path not in placed]


async def _execute_chain(paths: list[Path], executed: dict[Path, Any]) -> None:
    """Execute notebooks in order, each in a fresh kernel; the next kernel starts while a notebook runs."""
    upcoming: asyncio.Future[AsyncKernelManager] | None = asyncio.ensure_future(_started_kernel())
    try:
        for path in paths:
            assert upcoming is not None
            km = await upcoming
            upcoming = asyncio.ensure_future(_started_kernel()) if path != paths[-1] else None
            print(f"executing {path.name}", flush=True)
            started = time.monotonic()
            executed[path] = await _execute_async(nbformat.read(path, as_version=4), path.name, km)
            print(f"executed {path.name} in {time.monotonic() - started:.2f} s", flush=True)
    finally:
        if upcoming is not None:
            with suppress(BaseException):  # a kernel that failed to start has nothing to stop
                await (await upcoming).shutdown_kernel(now=True)


async def _execute_all(done: Callable[[Path, Any], None], only: Sequence[str] = ()) -> None:
    """Execute every notebook, or those numbered in `only` (the chains side by side, then the rest); hand them to
    `done` in notebook order."""
    paths = [path for path in notebook_paths() if not only or path.name[:2] in only]
    side_by_side, rest = schedule(paths)
    executed: dict[Path, Any] = {}
    async with asyncio.TaskGroup() as group:  # one chain failing stops the others
        for chain in side_by_side:
            group.create_task(_execute_chain(chain, executed))
    if rest:
        await _execute_chain(rest, executed)
    for path in paths:
        done(path, executed[path])


def outputs(only: Sequence[str] = ()) -> None:
    """Re-execute every notebook (or those numbered in `only`: each runs on its own) in place, cleaned, and report
    anything volatile left in checked outputs."""
    def write(path: Path, notebook: Any) -> None:
        nbformat.write(clean(notebook), path)
        for problem in problems(notebook):
            print(f"  {path.name}: {problem}")

    _ending_program_on_failure(lambda: asyncio.run(_execute_all(write, only)))


def run() -> Path:
    """Execute every notebook in order (not in place) and write them as one HTML handout."""
    merged = nbformat.v4.new_notebook(metadata=nbformat.read(notebook_paths()[0], as_version=4).metadata)
    _ending_program_on_failure(lambda: asyncio.run(_execute_all(lambda path, notebook: merged.cells.extend(notebook.cells))))
    HANDOUT.parent.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(merged)
    HANDOUT.write_text(body)
    print(f"handout: {HANDOUT}")
    return HANDOUT


def verify(folder: Path) -> list[str]:
    """Execute every notebook of a folder (a learner's copy) in order, in place, as JupyterLab would save it; returns
    the notebooks whose outputs end with their `[OK] Verified` line."""
    verified = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        started = time.monotonic()
        notebook = _execute(nbformat.read(path, as_version=4), path.name)
        nbformat.write(notebook, path)
        ok = "[OK] Verified" in json.dumps([cell.get("outputs", []) for cell in notebook.cells])
        print(f"{path.name}: {'verified' if ok else 'NOT verified'} in {time.monotonic() - started:.1f} s", flush=True)
        if ok:
            verified.append(path.name)
    return verified


def main(argv: list[str] | None = None) -> int:
    """`python -m labkit.nbtools outputs|run`, or `verify FOLDER` (a copy of the notebooks, run in place)."""
    parser = argparse.ArgumentParser(prog="python -m labkit.nbtools")
    parser.add_argument("action", choices=("outputs", "run", "verify"))
    parser.add_argument("folder", nargs="?", type=Path, help="verify: the folder of notebooks to run in place")
    parser.add_argument("--only", nargs="*", default=[], help="outputs: the notebooks to re-execute, by number (05 07)")
    args = parser.parse_args(argv)
    if args.action == "verify":
        found = sorted(args.folder.glob("[0-9][0-9]_*.ipynb"))
        verified = verify(args.folder)
        print(f"verified: {len(verified)}/{len(found)}")
        return 0 if found and len(verified) == len(found) else 1
    outputs(args.only) if args.action == "outputs" else run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
