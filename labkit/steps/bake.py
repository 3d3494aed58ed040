"""Notebook 08: `docker buildx bake` with a docker-bake.hcl whose target lists platforms, on the multiarch engine.

Bake reads the file and runs the same build `buildx build --platform … --push` would; the platforms, tags and
output are in the file instead of on the command line. The file names its context by its full path, because bake
resolves a relative context from the folder it is run in, not from the file's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import PLATFORMS, REPOSITORY
from labkit.results import BakeRun
from labkit.steps import dockerfile, inspect_index, multiarch_build

BAKE_TAG = "bake"
BAKE_FILE = "docker-bake.hcl"
SHOWN = "$LAB_WORKDIR"  # how the working folder is typed in a terminal after `eval "$(labkit env multiarch)"`


def hcl(folder: Path, ref: str, platforms: tuple[str, ...] = PLATFORMS) -> str:
    """The bake file: one target, its platforms, its tag, pushed."""
    listed = ", ".join(f'"{p}"' for p in platforms)
    return (f'target "default" {{\n  context   = "{folder}"\n  platforms = [{listed}]\n'
            f'  tags      = ["{ref}"]\n  output    = ["type=image,push=true"]\n}}\n')


def bake(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...] = PLATFORMS) -> BakeRun:
    """Write the Dockerfile and docker-bake.hcl into WORKDIR/bake, run `docker buildx bake --file …`, read the index."""
    folder = workdir / "bake"
    dockerfile.write(folder)
    text = hcl(folder, multiarch_build.image_ref(endpoints, REPOSITORY, BAKE_TAG), platforms)
    (folder / BAKE_FILE).write_text(text)
    # bake asks for read access to a context outside the folder it runs in (buildx v0.29.1 bake/entitlements.go)
    ran = run_docker(endpoints, endpoints.multiarch_context,
                     ["buildx", "bake", "--allow", f"fs.read={folder}", "--file", str(folder / BAKE_FILE)])
    result = replace(ran, command=ran.command.replace(str(workdir), SHOWN))
    try:
        index = inspect_index.read_index(endpoints, REPOSITORY, BAKE_TAG) if result.succeeded else None
    except LabError:
        index = None
    return BakeRun(text.replace(str(workdir), SHOWN), result, index)
