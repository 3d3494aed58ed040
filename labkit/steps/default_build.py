"""Step 2: the two-platform build on the default builder, which fails; and the legacy builder, for contrast."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.engine.commands import CommandResult, error_lines, run_docker
from labkit.engine.endpoints import Endpoints, require_context
from labkit.steps import inputs

PLATFORMS = ("linux/amd64", "linux/arm64")
TAG = "demo:multi"


@dataclass(frozen=True)
class BuildAttempt:
    """One `docker build` and what it said."""

    result: CommandResult
    builder: str  # "BuildKit" or "legacy"

    @property
    def error(self) -> list[str]:
        """The error message, line by line (empty when the build succeeded)."""
        return [] if self.result.succeeded else error_lines(self.result.stderr)


def build(endpoints: Endpoints, workdir: Path, context: str | None = None, platforms: tuple[str, ...] = PLATFORMS,
          tag: str = TAG, legacy: bool = False) -> BuildAttempt:
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
    return BuildAttempt(result, "legacy" if legacy else "BuildKit")
