"""labkit.nbtools over small made-up notebooks: the reviewed list of unchecked cells, and what a failed cell says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from labkit import nbtools
from labkit.views.text import cell_error_lines as error_lines

MARKED = "# NBVAL_IGNORE_OUTPUT\n# (not checked: a path on this machine)\nprint(result.path)"


def _notebook(*cells: Any) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("What you will see.", id="09-00"), *cells]
    return notebook


def _code(cell_id: str, source: str, tags: tuple[str, ...] = ()) -> Any:
    cell = nbformat.v4.new_code_cell(source, id=cell_id)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _listed(cell_id: str = "09-01", reason: str = "a path on this machine") -> nbtools.UncheckedCell:
    return nbtools.UncheckedCell("09_x.ipynb", cell_id, reason)


def test_a_marked_and_listed_cell_with_its_reason_is_fine() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", MARKED), _code("09-02", "print(1)"))}
    assert nbtools.unchecked_problems(notebooks, [_listed()]) == []


def test_a_marked_cell_that_is_not_listed_is_reported() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", MARKED))}
    assert nbtools.unchecked_problems(notebooks, []) == [
        "09_x.ipynb cell '09-01': its output is not checked, but it is not on unchecked-cells.toml"]


def test_a_cell_ignored_by_tag_counts_as_marked() -> None:
    tagged = _code("09-01", "print(result.path)", tags=("nbval-ignore-output",))
    assert not nbtools.is_checked(tagged) and nbtools.is_ignored(tagged)
    problems = nbtools.unchecked_problems({"09_x.ipynb": _notebook(tagged)}, [])
    assert problems == ["09_x.ipynb cell '09-01': its output is not checked, but it is not on unchecked-cells.toml"]


def test_a_listed_cell_that_does_not_exist_is_reported() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", MARKED))}
    problems = nbtools.unchecked_problems(notebooks, [_listed(), _listed("09-07")])
    assert problems == ["09_x.ipynb cell '09-07': listed, but there is no such cell"]


def test_a_listed_cell_that_is_checked_is_reported() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", "print(result.path)"))}
    problems = nbtools.unchecked_problems(notebooks, [_listed()])
    assert problems == ["09_x.ipynb cell '09-01': listed, but not marked `# NBVAL_IGNORE_OUTPUT` (its output is checked)"]


def test_a_marker_that_does_not_stand_alone_is_not_a_marker() -> None:
    glued = _code("09-01", "# NBVAL_IGNORE_OUTPUT (a path on this machine)\nprint(result.path)")
    assert nbtools.is_checked(glued) and not nbtools.is_ignored(glued)
    assert nbtools.unchecked_problems({"09_x.ipynb": _notebook(glued)}, [_listed()]) == [
        "09_x.ipynb cell '09-01': listed, but not marked `# NBVAL_IGNORE_OUTPUT` (its output is checked)"]


def test_an_empty_reason_is_reported() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", "# NBVAL_IGNORE_OUTPUT\n# (not checked:  )\nprint(1)"))}
    problems = nbtools.unchecked_problems(notebooks, [_listed(reason="")])
    assert "09_x.ipynb cell '09-01': listed without a reason" in problems


def test_the_cell_must_give_the_listed_reason() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", MARKED))}
    problems = nbtools.unchecked_problems(notebooks, [_listed(reason="digests vary")])
    assert problems == ["09_x.ipynb cell '09-01': its `# (not checked: ...)` line must give the listed reason, 'digests vary'"]


def test_a_cell_listed_twice_is_reported() -> None:
    notebooks = {"09_x.ipynb": _notebook(_code("09-01", MARKED))}
    assert "09_x.ipynb cell '09-01': listed more than once" in nbtools.unchecked_problems(notebooks, [_listed(), _listed()])


def test_the_list_is_read_from_toml(tmp_path: Path) -> None:
    listed = tmp_path / "unchecked-cells.toml"
    listed.write_text('[[cell]]\nnotebook = "09_x.ipynb"\nid = "09-01"\nreason = "  a path on this machine "\n\n'
                      '[[cell]]\nnotebook = "09_x.ipynb"\nid = "09-02"\n')
    assert nbtools.unchecked_cells(listed) == [_listed(), _listed("09-02", "")]


def test_a_lab_error_reads_as_its_two_lines() -> None:
    assert error_lines("LabError", "The registry did not answer.\n  try: run `labkit up`.") == [
        "labkit: The registry did not answer.", "  try: run `labkit up`."]
    assert error_lines("AssertionError", "Not verified: x.") == ["AssertionError: Not verified: x."]
    assert error_lines("KeyError", "") == ["KeyError"]


def test_a_failed_cell_names_the_notebook_the_cell_and_what_the_learner_sees() -> None:
    cell = _code("04-07", "# NBVAL_IGNORE_OUTPUT\n# (not checked: why)\nfrom labkit.views import frames\n\nframes.index_table(report)")
    evalue = "The registry did not answer.\n  try: run `labkit up`."
    message = nbtools.failure_message("04_inspect_the_index.ipynb", cell, "LabError", evalue)
    assert message.splitlines() == [
        "04_inspect_the_index.ipynb: cell 04-07 failed (from labkit.views import frames)",
        "labkit: The registry did not answer.",
        "  try: run `labkit up`.",
        "Open the notebook in JupyterLab (`make lab`) to see it.",
    ]
    other = nbtools.failure_message("02_x.ipynb", _code("02-18", "nb.verify(False, 'x')"), "AssertionError", "Not verified: x.")
    assert other.splitlines()[:2] == ["02_x.ipynb: cell 02-18 failed (nb.verify(False, 'x'))", "AssertionError: Not verified: x."]
    assert "---" not in message + other


def test_clean_merges_a_stream_the_kernel_sent_in_pieces() -> None:
    cell = nbformat.v4.new_code_cell("print(1); print(2)", id="x-01")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    notebook = nbtools.clean(nbformat.v4.new_notebook(cells=[cell]))
    assert [(o.name, o.text) for o in notebook.cells[0].outputs] == [("stdout", "1\n2\n")]


def test_make_run_runs_the_chains_side_by_side_and_every_other_notebook_after_them() -> None:
    paths = [Path(f"{number:02d}_x.ipynb") for number in range(8)]
    side_by_side, rest = nbtools.schedule(paths, (("00", "01", "02"), ("03", "04")))
    assert [[p.name[:2] for p in chain] for chain in side_by_side] == [["00", "01", "02"], ["03", "04"]]
    assert [p.name[:2] for p in rest] == ["05", "06", "07"]


def test_a_chain_with_no_notebook_present_is_dropped() -> None:
    side_by_side, rest = nbtools.schedule([Path("03_x.ipynb"), Path("09_y.ipynb")], (("00", "01"), ("03",)))
    assert [[p.name for p in chain] for chain in side_by_side] == [["03_x.ipynb"]]
    assert [p.name for p in rest] == ["09_y.ipynb"]
