"""The Makefile says what it can do: `make help` names every target a user can run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def test_make_help_names_every_target() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE.read_text(), re.MULTILINE)) - {"help"}
    shown = subprocess.run(["make", "-s", "-f", str(MAKEFILE), "help"], capture_output=True, text=True, check=True).stdout
    named = set(re.findall(r"\bmake ([a-z][a-z-|]*)", shown))
    named = {part for name in named for part in name.split("|")}
    assert targets - named == set(), f"make help leaves out: {sorted(targets - named)}"
