"""Notebook 06: an index put together from single-platform images already in the registry, without building it.

Two single-platform pushes (`buildx build --platform ONE --provenance=false --push`, one manifest each) are joined
by `docker buildx imagetools create` (buildx copies and writes the index in the registry) and by `docker manifest
create` + `docker manifest push` (the docker CLI keeps the list under DOCKER_CONFIG/manifests until it pushes it;
`--insecure` lets it talk to the lab's plain-HTTP registry, `--purge` removes the local list once pushed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.experiment import PLATFORMS, REPOSITORY, TAG
from labkit.oci.index import IndexReport
from labkit.oci.registry import Registry
from labkit.results import CommandResult, IndexMade, PushResult
from labkit.steps import inputs, inspect_index, multiarch_build, podman_build


def single_tag(platform: str) -> str:
    """The tag of one platform's single-platform push: linux/arm64 -> only-linux-arm64."""
    return "only-" + platform.replace("/", "-")


def push_single_platforms(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...] = PLATFORMS,
                          repository: str = REPOSITORY) -> list[PushResult]:
    """One `docker buildx build --platform P --provenance=false -t …:only-P --push .` per platform."""
    return [multiarch_build.build_and_push(endpoints, workdir, (platform,), repository, single_tag(platform),
                                           ("--provenance=false", "--push"))
            for platform in inputs.platforms(platforms)]


def _sources(endpoints: Endpoints, platforms: tuple[str, ...], repository: str) -> list[str]:
    return [multiarch_build.image_ref(endpoints, repository, single_tag(p)) for p in inputs.platforms(platforms)]


def _made(endpoints: Endpoints, tool: str, commands: list[CommandResult], repository: str, tag: str) -> IndexMade:
    served = Registry(endpoints.registry).get_manifest(repository, tag) if commands[-1].succeeded else None
    return IndexMade(tool, tuple(commands), multiarch_build.image_ref(endpoints, repository, tag),
                     served.media_type if served else "", served.digest if served else "")


def imagetools_create(endpoints: Endpoints, tag: str = "imagetools", platforms: tuple[str, ...] = PLATFORMS,
                      repository: str = REPOSITORY) -> IndexMade:
    """`docker buildx imagetools create -t …:TAG SOURCE…` from the single-platform pushes."""
    ref = inputs.image_ref(multiarch_build.image_ref(endpoints, repository, tag))
    args = ["buildx", "imagetools", "create", "-t", ref, *_sources(endpoints, platforms, repository)]
    return _made(endpoints, "imagetools create", [run_docker(endpoints, endpoints.multiarch_context, args)],
                 repository, tag)


def local_list(endpoints: Endpoints, ref: str) -> Path:
    """Where `docker manifest create` keeps a list until it is pushed: DOCKER_CONFIG/manifests/<ref, made a name>."""
    return endpoints.docker_config / "manifests" / ref.replace(":", "-").replace("/", "_")


def manifest_create(endpoints: Endpoints, tag: str = "manifest", platforms: tuple[str, ...] = PLATFORMS,
                    repository: str = REPOSITORY) -> IndexMade:
    """`docker manifest create --insecure …:TAG SOURCE…`, then `docker manifest push --insecure --purge …:TAG`."""
    ref = inputs.image_ref(multiarch_build.image_ref(endpoints, repository, tag))
    shutil.rmtree(local_list(endpoints, ref), ignore_errors=True)  # left by a run that stopped before its push
    context = endpoints.multiarch_context
    create = run_docker(endpoints, context, ["manifest", "create", "--insecure", ref,
                                             *_sources(endpoints, platforms, repository)])
    commands = [create]
    if create.succeeded:
        commands.append(run_docker(endpoints, context, ["manifest", "push", "--insecure", "--purge", ref]))
    return _made(endpoints, "docker manifest", commands, repository, tag)


# The four indexes notebook 06 sets side by side: who made each, and its tag in the lab's registry.
COMPARED = (("BuildKit (buildx build)", TAG), ("podman build --manifest", podman_build.TAG),
            ("buildx imagetools create", "imagetools"), ("docker manifest create", "manifest"))


def compared(endpoints: Endpoints) -> list[tuple[str, IndexReport]]:
    """Step 3's index (BuildKit) and the three made without it, each with who made it."""
    return [(made_by, inspect_index.read_index(endpoints, REPOSITORY, tag)) for made_by, tag in COMPARED]
