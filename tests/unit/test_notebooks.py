"""The stored notebooks: clean, in the lab's shape, and checked by nbval."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest

from labkit import nbtools

NOTEBOOKS = nbtools.notebook_paths()


def test_all_five_notebooks_are_there_in_order() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_no_volatile_metadata_or_outputs(path: Path) -> None:
    assert nbtools.problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_a_prediction_and_ends_with_a_check(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"
    assert "Predict" in "".join(c.source for c in notebook.cells[:3] if c.cell_type == "markdown")
    last_code = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert "nb.verify(" in last_code.source
    assert "[OK] Verified:" in "".join(o.get("text", "") for o in last_code.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short_and_follow_markdown(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for number, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        assert len(cell.source.splitlines()) <= 9, f"cell {number} is long: move the work into labkit"
        assert cells[number - 1].cell_type == "markdown" or number == 0, f"cell {number} has no explanation before it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_skips_nbval(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        assert "NBVAL_SKIP" not in cell.source
        assert not {"nbval-skip", "nbval-ignore-output"} & set(cell.metadata.get("tags", []))


def test_ignored_cells_are_really_ignored_and_say_why() -> None:
    ignored = 0
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if "NBVAL_IGNORE_OUTPUT" in cell.source:
                ignored += 1
                assert not nbtools.is_checked(cell), f"{path.name}: nbval does not see the marker (it must stand alone)"
                assert re.search(r"^# \(not checked: .+\)$", cell.source, re.MULTILINE), f"{path.name}: say why"
    assert ignored >= 5


def test_sanitizer_pairs_compile_and_each_section_says_why() -> None:
    text = (nbtools.NOTEBOOKS / "sanitize.cfg").read_text()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert parser.sections()
    for section in parser.sections():
        assert len(section) > 20, "a section header explains what varies"
        re.compile(parser[section]["regex"])
        assert "replace" in parser[section]
