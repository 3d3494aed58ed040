"""Step 1: the experiment's minimal Dockerfile, written into the lab's working folder."""

from __future__ import annotations

from pathlib import Path

from labkit.experiment import DOCKERFILE
from labkit.results import DockerfileResult


def write(workdir: Path) -> DockerfileResult:
    """Write the Dockerfile (same bytes every time) into workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "Dockerfile"
    if not path.is_file() or path.read_text() != DOCKERFILE:
        path.write_text(DOCKERFILE)
    return DockerfileResult(workdir, path, DOCKERFILE)
