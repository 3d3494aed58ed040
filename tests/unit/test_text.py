"""Plain-text tables and check lines."""

from labkit.views.text import check_line, table


def test_table_has_header_rule_and_rows() -> None:
    lines = table(["name", "driver"], [["classic", "docker"], ["default", None]]).splitlines()
    assert len(lines) == 4
    assert set(lines[1].replace("  ", "")) == {"-"}


def test_table_columns_are_left_aligned_to_the_widest_cell() -> None:
    lines = table(["name", "driver"], [["multiarch", "docker"], ["x", "y"]]).splitlines()
    column = len("multiarch") + 2
    assert [lines[0].index("driver"), lines[2].index("docker"), lines[3].index("y")] == [column] * 3


def test_table_rule_matches_column_widths() -> None:
    lines = table(["a", "bb"], [["ccc", "d"]]).splitlines()
    assert lines[1] == "---  --"


def test_table_rows_have_no_trailing_spaces_and_none_is_blank() -> None:
    lines = table(["name", "error"], [["default", None], ["classic", ""]]).splitlines()
    assert lines[2] == "default"
    assert all(line == line.rstrip() for line in lines)


def test_table_renders_non_strings() -> None:
    assert table(["n"], [[5], [True]]).splitlines()[2:] == ["5", "True"]


def test_check_line_ok() -> None:
    assert check_line(True, "registry answers", "labkit up") == "[OK] registry answers"


def test_check_line_fail_with_next_step() -> None:
    assert check_line(False, "registry answers", "labkit up") == "[FAIL] registry answers — try labkit up"


def test_check_line_fail_without_next_step() -> None:
    assert check_line(False, "registry answers") == "[FAIL] registry answers"
