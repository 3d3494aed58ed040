"""Step 2: the two-platform build on the default builder, which fails; and the legacy builder, for contrast."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints, require_context
from labkit.experiment import LOCAL_TAG, PLATFORMS
from labkit.results import BuildAttempt
from labkit.steps import inputs


def build(endpoints: Endpoints, workdir: Path, context: str | None = None, platforms: tuple[str, ...] = PLATFORMS,
          tag: str = LOCAL_TAG, legacy: bool = False) -> BuildAttempt:
    """`docker build --platform … -t TAG .` on a context's default builder (`DOCKER_BUILDKIT=0` when legacy).

    The context defaults to the endpoints' `classic_context`, where step 2 runs.
    """
    context = context or endpoints.classic_context
    platforms, tag = inputs.platforms(platforms), inputs.image_ref(tag)
    inputs.build_folder(workdir)
    require_context(endpoints, context)
    args = ["build", "--platform", ",".join(platforms), "-t", tag, str(workdir)]
    env = {"DOCKER_BUILDKIT": "0"} if legacy else {}
    result = run_docker(endpoints, context, args, workdir, env)
    error = () if result.succeeded else tuple(error_lines(result.stderr))
    return BuildAttempt(result, "legacy" if legacy else "BuildKit", error)
