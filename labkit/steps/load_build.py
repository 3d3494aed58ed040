"""`--load` of a two-platform image: refused on the classic image store, kept whole by the containerd image store."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints, require_context
from labkit.experiment import PLATFORMS
from labkit.results import LoadAttempt
from labkit.steps import inputs

LOADED = "demo:loaded"


def load(endpoints: Endpoints, workdir: Path, context: str, platforms: tuple[str, ...] = PLATFORMS,
         tag: str = LOADED) -> LoadAttempt:
    """`docker buildx build --platform a,b -t TAG --load .` on a context; when it loads, run each variant from the store.

    The runs use `--pull never`: what runs is what `--load` put into the engine's image store, nothing else.
    """
    platforms, tag = inputs.platforms(platforms), inputs.image_ref(tag)
    inputs.build_folder(workdir)
    require_context(endpoints, context)
    args = ["buildx", "build", "--platform", ",".join(platforms), "-t", tag, "--load", str(workdir)]
    result = run_docker(endpoints, context, args, workdir)
    if not result.succeeded:
        return LoadAttempt(result, tuple(error_lines(result.stderr)), ())
    runs = tuple(run_docker(endpoints, context, ["run", "--rm", "--network", "none", "--pull", "never",
                                                 "--platform", platform, tag, "uname", "-m"]) for platform in platforms)
    return LoadAttempt(result, (), runs)
