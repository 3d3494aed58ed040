"""The stored notebooks: clean, in the lab's shape, and checked by nbval."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

from labkit import nbtools
from labkit.lab import Lab

NOTEBOOKS = nbtools.notebook_paths()


def test_all_notebooks_are_there_in_order() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_holds_no_volatile_metadata_or_outputs(path: Path) -> None:
    assert nbtools.problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_a_prediction_and_ends_with_a_check(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown"
    assert "Predict" in "".join(c.source for c in notebook.cells[:3] if c.cell_type == "markdown")
    last_code = [c for c in notebook.cells if c.cell_type == "code" and "lab.answer(" not in c.source][-1]
    assert "nb.verify(" in last_code.source
    assert "[OK] Verified:" in "".join(o.get("text", "") for o in last_code.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short_and_follow_markdown(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    for number, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        assert len(cell.source.splitlines()) <= 6, f"cell {number} is long: move the work into labkit"
        assert max(map(len, cell.source.splitlines())) <= 88, f"cell {number} is wider than 88 columns: it would scroll"
        assert cells[number - 1].cell_type == "markdown" or number == 0, f"cell {number} has no explanation before it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_skips_nbval_or_expects_an_error(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        assert "NBVAL_SKIP" not in cell.source
        assert "NBVAL_RAISES_EXCEPTION" not in cell.source, "a cell that raises must fail nbval"
        tags = set(cell.metadata.get("tags", []))
        assert not {"nbval-skip", "nbval-raises-exception", "raises-exception"} & tags
        assert "nbval-ignore-output" not in tags, "use the `# NBVAL_IGNORE_OUTPUT` marker, which the learner sees, not a tag"


def test_ignore_markers_stand_alone_and_nbval_sees_them() -> None:
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if "NBVAL_IGNORE_OUTPUT" in cell.source:
                assert not nbtools.is_checked(cell), f"{path.name}: nbval does not see the marker (it must stand alone)"


def test_every_unchecked_cell_is_on_the_reviewed_list_with_its_reason() -> None:
    notebooks = {path.name: nbformat.read(path, as_version=4) for path in NOTEBOOKS}
    listed = nbtools.unchecked_cells()
    assert nbtools.unchecked_problems(notebooks, listed) == []
    marked = [c for n in notebooks.values() for c in n.cells if "NBVAL_IGNORE_OUTPUT" in c.source]
    assert len(listed) == len(marked) > 0


@pytest.mark.parametrize("call", ["default_build(", "build_and_push(", "imagetools_inspect("])
def test_the_experiments_commands_are_checked(call: str) -> None:
    cells = [c for path in NOTEBOOKS for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and call in c.source]
    assert cells and all(nbtools.is_checked(cell) for cell in cells)


def test_the_imagetools_output_is_compared_whatever_order_the_annotations_come_in() -> None:
    notebook = nbformat.read(nbtools.NOTEBOOKS / "04_inspect_the_index.ipynb", as_version=4)
    stored = next(c for c in notebook.cells if "imagetools_inspect(" in c.source).outputs[0].text
    pair = re.compile(r"(    vnd\.docker\.reference\.\w+: .*\n)(    vnd\.docker\.reference\.\w+: .*\n)")
    assert len(pair.findall(stored)) == 2, "one pair of annotation lines per attestation"
    patterns = get_sanitize_patterns((nbtools.NOTEBOOKS / "sanitize.cfg").read_text())

    def sanitized(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    def swapped(which: set[int]) -> str:
        seen = iter(range(2))
        return pair.sub(lambda m: m.group(2) + m.group(1) if next(seen) in which else m.group(0), stored)

    orders = [swapped(which) for which in (set(), {0}, {1}, {0, 1})]
    assert len(set(orders)) == 4 and len({sanitized(text) for text in orders}) == 1
    assert sanitized(stored).count("sha256:<digest>") == 7
    for line in ("exit code 0", "MediaType: application/vnd.oci.image.index.v1+json",
                 "  Platform:    linux/amd64", "  Platform:    linux/arm64"):
        assert line in sanitized(stored).splitlines()


def test_sanitizer_pairs_compile_and_each_section_says_why() -> None:
    text = (nbtools.NOTEBOOKS / "sanitize.cfg").read_text()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert parser.sections()
    for section in parser.sections():
        assert len(section) > 20, "a section header explains what varies"
        re.compile(parser[section]["regex"])
        assert "replace" in parser[section]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_labkit_through_its_one_face(path: Path) -> None:
    imports = [line.strip() for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
               for line in cell.source.splitlines() if re.match(r"\s*(import|from)\s", line)]
    assert imports == ["import labkit.lab as nb"]


def test_learner_facing_text_never_says_seed() -> None:
    """The experiment comes from an article; learners meet "the experiment" or "the article", never a workshop word."""
    texts = {path.name: path.read_text() for path in [*NOTEBOOKS, nbtools.NOTEBOOKS / "glossary.md"]}
    texts["README.md"] = (nbtools.NOTEBOOKS.parent / "README.md").read_text()
    texts |= {str(path): path.read_text() for path in (nbtools.NOTEBOOKS.parent / "labkit").rglob("*.py")}
    assert [name for name, text in texts.items() if re.search(r"\bseed", text, re.IGNORECASE)] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_ends_with_where_to_go_next(path: Path) -> None:
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("**Where to go next:**")


def test_notebook_00_does_not_give_step_2_away() -> None:
    notebook = nbformat.read(nbtools.NOTEBOOKS / "00_start_here.ipynb", as_version=4)
    shown = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "fails" not in shown and nbtools.NOTEBOOKS.joinpath("glossary.md").is_file()


def _lab_calls() -> dict[str, list[str]]:
    """For each `lab.NAME` the notebooks' code cells use, the ids of those cells, sorted."""
    used: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for name in set(re.findall(r"\blab\.([a-z_]+)\b", cell.source)):
                    used.setdefault(name, set()).add(cell.id)
    return {name: sorted(cells) for name, cells in used.items()}


def test_each_lab_method_names_the_cells_that_use_it() -> None:
    """A `Lab` method's docstring ends with the cells that call it, as a book's helper names where it is used."""
    used = _lab_calls()
    for name, member in vars(Lab).items():
        doc = " ".join((getattr(member, "__doc__", None) or "").split())
        said = re.search(r"Cells: ([\d, -]+)\.", doc)
        if name in used:
            assert said is not None and said.group(1).split(", ") == used[name], f"Lab.{name}: cells {used[name]}"
        else:
            assert said is None, f"Lab.{name} names cells, but no notebook cell uses it"
    assert set(used) <= set(vars(Lab)), f"the notebooks use what Lab lacks: {sorted(set(used) - set(vars(Lab)))}"
