"""Snapshots of what the lab must leave as it found it: the user's `~/.docker` and `/etc/docker`.

A snapshot records every path under each folder: its type, mode, owner (uid and gid), a file's sha256 and a
symlink's target, or "absent" for a folder that does not exist. `make test` writes one before anything of the
lab runs, even before the virtual environment is set up (standard library only):

    python3 -m tests.support.untouched build/untouched-before.json

and the pytest session (tests/conftest.py) compares the folders with it at the end, naming what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

WATCHED = (Path.home() / ".docker", Path("/etc/docker"))
SNAPSHOT_VARIABLE = "LABKIT_TEST_UNTOUCHED"  # names the snapshot file `make test` wrote before `labkit up`
ABSENT = "absent"

Entry = dict[str, str | int]
Tree = str | dict[str, Entry]  # ABSENT, or relative path ("." for the folder itself) -> entry
Snapshot = dict[str, Tree]  # folder -> tree

_KINDS = ((stat.S_ISLNK, "symlink"), (stat.S_ISDIR, "folder"), (stat.S_ISREG, "file"), (stat.S_ISSOCK, "socket"),
          (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "char device"), (stat.S_ISBLK, "block device"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as error:
        return f"unreadable ({error.strerror})"
    return digest.hexdigest()


def describe(path: Path) -> Entry:
    """Type, mode, owner, and a file's sha256 or a symlink's target (the link itself is never followed)."""
    info = path.lstat()
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "other")
    entry: Entry = {"type": kind, "mode": f"{stat.S_IMODE(info.st_mode):04o}", "uid": info.st_uid, "gid": info.st_gid}
    if kind == "symlink":
        entry["target"] = os.readlink(path)
    elif kind == "file":
        entry["sha256"] = _sha256(path)
    return entry


def tree(root: Path) -> Tree:
    """Every path under root, by path relative to it; "absent" when root does not exist."""
    if not root.exists() and not root.is_symlink():
        return ABSENT
    entries = {".": describe(root)}
    if root.is_dir():  # a symlinked folder is recorded as a link and walked through
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                path = Path(folder) / name
                entries[str(path.relative_to(root))] = describe(path)
    return entries


def take(roots: Iterable[Path] = WATCHED) -> Snapshot:
    """A snapshot of each folder."""
    return {str(root): tree(root) for root in roots}


def digest(root_tree: Tree) -> str:
    """One hash for a folder's tree (what `tests.conftest.tree_hash` returns)."""
    if root_tree == ABSENT:
        return ABSENT
    return hashlib.sha256(json.dumps(root_tree, sort_keys=True).encode()).hexdigest()


def _entry_changes(path: str, before: Entry, after: Entry) -> str:
    fields = sorted(set(before) | set(after))
    said = [f"{name} {before.get(name, '-')} -> {after.get(name, '-')}" for name in fields if before.get(name) != after.get(name)]
    return f"{path}: {', '.join(said)}"


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, one line per path: created, removed, or which fields changed."""
    found = []
    for root in sorted(set(before) | set(after)):
        old, new = before.get(root, ABSENT), after.get(root, ABSENT)
        if old == new:
            continue
        if isinstance(old, str) or isinstance(new, str):
            found.append(f"{root}: {'absent' if isinstance(old, str) else 'present'} -> {'absent' if isinstance(new, str) else 'present'}")
            continue
        for relative in sorted(set(old) | set(new)):
            shown = root if relative == "." else os.path.join(root, relative)
            if relative not in old:
                found.append(f"{shown}: new {new[relative]['type']}")
            elif relative not in new:
                found.append(f"{shown}: removed")
            elif old[relative] != new[relative]:
                found.append(_entry_changes(shown, old[relative], new[relative]))
    return found


def write(path: Path, snapshot: Snapshot) -> None:
    """Save a snapshot as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")


def read(path: Path) -> Snapshot:
    """A snapshot saved by `write`."""
    loaded: Snapshot = json.loads(path.read_text())
    return loaded


def main(argv: list[str]) -> int:
    """`python3 -m tests.support.untouched FILE`: snapshot the watched folders into FILE."""
    if len(argv) != 1:
        print("usage: python3 -m tests.support.untouched FILE", file=sys.stderr)
        return 2
    snapshot = take()
    write(Path(argv[0]), snapshot)
    shown = ", ".join(f"{root} ({'absent' if isinstance(t, str) else f'{len(t)} paths'})" for root, t in snapshot.items())
    print(f"snapshot of {shown} written to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
