"""Step 1: the experiment's minimal Dockerfile, written into the lab's working folder."""

from __future__ import annotations

import os
from pathlib import Path

from labkit.experiment import DOCKERFILE
from labkit.results import DockerfileResult


def write(workdir: Path) -> DockerfileResult:
    """Write the Dockerfile (same bytes every time) into workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "Dockerfile"
    if not path.is_file() or path.read_text() != DOCKERFILE:
        partial = path.with_name(f".Dockerfile.{os.getpid()}")  # a build reading the folder meanwhile sees old or new
        partial.write_text(DOCKERFILE)
        os.replace(partial, path)
    return DockerfileResult(workdir, path, DOCKERFILE)


def ensure(workdir: Path) -> bool:
    """Step 1, when a later notebook runs first: write the Dockerfile unless it is there; True when it was missing."""
    if (workdir / "Dockerfile").is_file():
        return False
    write(workdir)
    return True
