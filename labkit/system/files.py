"""Files the lab writes: only when their content changes, so a second `labkit up` changes nothing; lock files."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_if_changed(path: Path, text: str) -> bool:
    """Write text to path (creating its folder) unless it already holds exactly that; True when it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


@contextmanager
def flocked(lock: Path, shared: bool = False) -> Iterator[None]:
    """Hold a lock on a file for the block, shared (many holders) or exclusive (one), waiting for it silently."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield


@contextmanager
def exclusive(lock: Path, waiting: str) -> Iterator[None]:
    """Hold an exclusive lock on a file for the block; when another process holds it, print `waiting`, then wait."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"labkit: {waiting}", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def readable_by_all(root: Path) -> None:
    """Let every user enter each folder under root and read each file (0755 folders, files gain read; links untouched)."""
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give root and everything under it (links themselves, not their targets) to uid:gid."""
    for folder, dirs, files in os.walk(root):
        os.lchown(folder, uid, gid)
        for name in [*dirs, *files]:
            os.lchown(os.path.join(folder, name), uid, gid)
