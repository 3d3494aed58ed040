"""Mounts a daemon leaves under the lab's folders (its data folder, network namespaces), found and undone."""

from __future__ import annotations

from pathlib import Path

from labkit.settings import Settings
from labkit.system import run


def _unescape(field: str) -> str:
    """/proc/self/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mounts(text: str) -> list[str]:
    """Mount points, in the order of /proc/self/mounts."""
    return [_unescape(line.split()[1]) for line in text.splitlines() if len(line.split()) > 1]


def lab_mounts(folders: tuple[Path, ...], mounts_file: Path = Path("/proc/self/mounts")) -> list[str]:
    """Mount points at or under the given folders, deepest (and latest) first."""
    roots = [str(folder).rstrip("/") for folder in folders]
    found = [point for point in parse_mounts(mounts_file.read_text())
             if any(point == root or point.startswith(root + "/") for root in roots)]
    return list(reversed(found))


def sandbox_folders(settings: Settings, service: str | None = None) -> tuple[Path, ...]:
    """Where a daemon of this sandbox (or every daemon, when service is None) mounts things."""
    if service is None:
        return (settings.state_dir, settings.run_dir)
    return (settings.service_dir(service), settings.run_dir / service)


def unmount(folders: tuple[Path, ...]) -> list[str]:
    """Undo every mount under the folders (the lab's own); returns the mount points undone."""
    undone = []
    for point in lab_mounts(folders):
        result = run.run(["umount", point])
        if result.returncode != 0:
            run.run(["umount", "-l", point])
        undone.append(point)
    return undone
