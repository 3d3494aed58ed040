"""Fixtures shared by the test layers: settings, the real sandbox, and snapshots of what must stay untouched."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.engine import modes
from labkit.engine.endpoints import Endpoints
from labkit.settings import Settings

DATA = Path(__file__).parent / "data"
WATCHED = (Path.home() / ".docker", Path("/etc/docker"))


def tree_hash(root: Path) -> str:
    """A hash of every path, mode and file content under root ('absent' when it does not exist)."""
    if not root.exists():
        return "absent"
    digest = hashlib.sha256()
    for path in sorted([root, *root.rglob("*")]):
        digest.update(f"{path.relative_to(root)}:{path.lstat().st_mode}".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The sandbox's settings (whatever LABKIT_MODE says: these tests are about the sandbox)."""
    return Settings.from_env({**os.environ, "LABKIT_MODE": "sandbox"})


@pytest.fixture(scope="session")
def untouched_before() -> dict[str, str]:
    """Hashes of the user's Docker folders, taken before the lab starts anything."""
    return {str(path): tree_hash(path) for path in WATCHED}


@pytest.fixture(scope="session")
def lab(settings: Settings, untouched_before: dict[str, str]) -> Iterator[Endpoints]:
    """The real sandbox, started when needed. A sandbox that cannot start fails the tests; it never skips them."""
    yield modes.up(settings)


_BEFORE_SESSION: dict[str, str] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Hash the user's Docker folders before anything runs (tests and notebooks alike)."""
    _BEFORE_SESSION.update({str(path): tree_hash(path) for path in WATCHED})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the whole session, notebooks included, changed the user's Docker folders."""
    changed = [path for path, digest in _BEFORE_SESSION.items() if tree_hash(Path(path)) != digest]
    if changed:
        print(f"\nThe lab changed the user's Docker folders: {', '.join(changed)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
