"""Plain-text tables and check lines for the terminal."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table with a header rule."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def check_line(ok: bool, what: str, next_step: str = "") -> str:
    """`[OK] what` or `[FAIL] what — try next_step`."""
    if ok:
        return f"[OK] {what}"
    return f"[FAIL] {what} — try {next_step}" if next_step else f"[FAIL] {what}"
