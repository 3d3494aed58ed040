"""Subordinate uid and gid ranges (/etc/subuid, /etc/subgid): who has one, and where a new one fits.

RootlessKit maps a user's subordinate ids into the user namespace the rootless sandbox runs in (newuidmap and
newgidmap read these files), so that image layers owned by uids other than root can be unpacked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.system import machine

RANGE_SIZE = 65536  # what useradd gives (SUB_UID_COUNT), and what images with uids up to 65535 need
FIRST_ID = 100000  # SUB_UID_MIN's default
SUBID_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))


def subid_ranges(text: str, user: str, uid: int) -> list[tuple[int, int]]:
    """(first, count) of every range /etc/subuid or /etc/subgid (their text) gives a user, named or by uid."""
    ranges = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)) and fields[1].isdigit() and fields[2].isdigit():
            if int(fields[2]) > 0:
                ranges.append((int(fields[1]), int(fields[2])))
    return ranges


@dataclass(frozen=True)
class SubIds:
    """A user's ranges in one file: (first id, count) each."""

    file: Path
    ranges: tuple[tuple[int, int], ...]

    @property
    def size(self) -> int:
        """How many subordinate ids the ranges hold together."""
        return sum(count for _, count in self.ranges)


def read(user: str, uid: int, files: tuple[Path, ...] = SUBID_FILES) -> list[SubIds]:
    """The user's ranges in each file (an empty tuple where the file has none or cannot be read)."""
    found = []
    for file in files:
        try:
            text = file.read_text()
        except OSError:
            text = ""
        found.append(SubIds(file, tuple(subid_ranges(text, user, uid))))
    return found


def next_free(files: tuple[Path, ...] = SUBID_FILES, size: int = RANGE_SIZE) -> int:
    """The first id of a range of `size` that overlaps no range of anyone in any of the files (the same start in
    both files, as useradd does)."""
    end = FIRST_ID
    for file in files:
        try:
            lines = file.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.strip().split(":")
            if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                end = max(end, int(fields[1]) + int(fields[2]))
    return end


def has_subids(user: str, uid: int, files: tuple[Path, ...] = SUBID_FILES) -> bool:
    """True when every file (/etc/subuid, /etc/subgid) gives the user a range of subordinate ids."""
    return all(found.ranges for found in read(user, uid, files))


def prepared(uid: int) -> bool:
    """True where an administrator has prepared this user for the rootless sandbox: newuidmap and newgidmap are
    installed and the user has subordinate uid and gid ranges (the doctor checks the rest)."""
    return machine.has_program("newuidmap") and machine.has_program("newgidmap") and has_subids(machine.user_name(uid), uid)
