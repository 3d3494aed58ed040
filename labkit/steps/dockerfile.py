"""Step 1: the experiment's minimal Dockerfile, written into the lab's working folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = 'FROM busybox\nCMD ["echo", "Hello from multi-arch image"]\n'


@dataclass(frozen=True)
class DockerfileResult:
    """The Dockerfile that was written, and where."""

    workdir: Path
    path: Path
    text: str


def write(workdir: Path) -> DockerfileResult:
    """Write the Dockerfile (same bytes every time) into workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "Dockerfile"
    if not path.is_file() or path.read_text() != DOCKERFILE:
        path.write_text(DOCKERFILE)
    return DockerfileResult(workdir, path, DOCKERFILE)
