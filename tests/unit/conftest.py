"""Fixtures of the offline tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A folder laid out as `/`, whose binfmt_misc holds the captured entries (data/binfmt_misc) and the kernel's two
    files."""
    folder = tmp_path / "proc/sys/fs/binfmt_misc"
    shutil.copytree(DATA / "binfmt_misc", folder)
    (folder / "register").write_text("")
    (folder / "status").write_text("enabled\n")
    return tmp_path
