"""Files the lab writes: only when their content changes, so a second `labkit up` changes nothing."""

from __future__ import annotations

from pathlib import Path


def write_if_changed(path: Path, text: str) -> bool:
    """Write text to path (creating its folder) unless it already holds exactly that; True when it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
