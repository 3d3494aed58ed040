"""Checking what a learner passes to a step before anything runs: platforms, tags, the build folder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from labkit.errors import LabError

# What BuildKit can target, by os/architecture, with the variants each architecture has.
KNOWN_PLATFORMS = {
    "linux/amd64": ("", "v1", "v2", "v3", "v4"),
    "linux/arm64": ("", "v8", "v9"),
    "linux/arm": ("v5", "v6", "v7"),
    "linux/386": ("",),
    "linux/ppc64le": ("",),
    "linux/ppc64": ("",),
    "linux/s390x": ("",),
    "linux/riscv64": ("",),
    "linux/mips64le": ("",),
    "linux/mips64": ("",),
    "linux/loong64": ("",),
    "windows/amd64": ("",),
}
# The distribution reference grammar, simplified: [host[:port]/]path[:tag]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)"
REFERENCE = re.compile(rf"^{_HOST}?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?$")


def platforms(values: Sequence[str]) -> tuple[str, ...]:
    """The platforms, checked one by one; a LabError says which one is wrong and what to use instead."""
    if isinstance(values, str):
        raise LabError(f"Platforms were given as one string ({values!r}).",
                       'Pass them as separate items, e.g. platforms=("linux/amd64", "linux/arm64").')
    if not values:
        raise LabError("No platform was given.", 'Pass at least one, e.g. platforms=("linux/amd64", "linux/arm64").')
    checked = []
    for value in values:
        if "," in value:
            raise LabError(f"{value!r} is several platforms in one item.",
                           f"Pass them as separate items: {tuple(p.strip() for p in value.split(','))!r}.")
        parts = value.strip().split("/")
        base, variant = "/".join(parts[:2]), "/".join(parts[2:])
        if base not in KNOWN_PLATFORMS or variant not in KNOWN_PLATFORMS[base]:
            hint = (f"{base} has the variants {', '.join(v for v in KNOWN_PLATFORMS[base] if v)}" if base in KNOWN_PLATFORMS
                    else "a platform is os/architecture[/variant]")
            raise LabError(f"{value!r} is not a platform BuildKit can target ({hint}).",
                           "Use names such as linux/amd64, linux/arm64 or linux/arm/v7.")
        checked.append(value.strip())
    return tuple(checked)


def image_ref(value: str) -> str:
    """An image reference such as demo:multi or 127.0.0.1:5000/demo:multi, checked."""
    if not REFERENCE.match(value):
        raise LabError(f"{value!r} is not a valid image reference.",
                       "Use lowercase names and a tag of letters, digits, '.', '_' or '-', e.g. demo:multi.")
    return value


def build_folder(workdir: Path) -> Path:
    """The build folder, which must hold a Dockerfile."""
    if not workdir.is_dir():
        raise LabError(f"The build folder {workdir} does not exist.", "Run step 1 (notebook 01) to write the Dockerfile.")
    if not (workdir / "Dockerfile").is_file():
        raise LabError(f"There is no Dockerfile in {workdir}.", "Run step 1 (notebook 01) to write it.")
    return workdir
