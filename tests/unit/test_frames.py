"""The notebooks' tables: no 0, 1, 2… index column, and no cell cut short."""

from __future__ import annotations

from labkit.results import Prediction
from labkit.views.frames import index_table, predictions_table
from tests.support.captured import index_report


def test_the_index_table_has_no_row_numbers() -> None:
    table = index_table(index_report("demo-multi"))
    assert "<th>0</th>" not in table._repr_html_() and "<table" in table._repr_html_()
    assert repr(table).splitlines()[0].split()[:2] == ["platform", "media"]
    assert all(not line.startswith(("0 ", "1 ")) for line in repr(table).splitlines())


def test_a_long_reason_is_never_cut() -> None:
    why = "the default builder uses the docker driver on the classic image store: " + "x" * 80
    table = predictions_table([Prediction("2", "docker build, two platforms", "fails", why)])
    assert why in repr(table) and why in table._repr_html_() and "..." not in repr(table)
