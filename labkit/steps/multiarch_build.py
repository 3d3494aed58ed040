"""Step 3: a builder that can build several platforms, and the two-platform build pushed to the registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.engine.builders import Builder, builder
from labkit.engine.commands import CommandResult, run_docker
from labkit.engine.endpoints import Endpoints
from labkit.oci.registry import Registry
from labkit.steps.default_build import PLATFORMS

REPOSITORY = "demo"
TAG = "multi"


@dataclass(frozen=True)
class BuilderReady:
    """`docker buildx inspect --bootstrap` and the builder it reported."""

    result: CommandResult
    builder: Builder | None


@dataclass(frozen=True)
class PushResult:
    """The build-and-push command and what the registry now serves under the tag."""

    result: CommandResult
    image_ref: str
    media_type: str
    digest: str


def image_ref(endpoints: Endpoints, repository: str = REPOSITORY, tag: str = TAG) -> str:
    """The image reference in the local registry, e.g. 127.0.0.1:5000/demo:multi."""
    return f"{endpoints.registry}/{repository}:{tag}"


def bootstrap(endpoints: Endpoints, name: str) -> BuilderReady:
    """`docker buildx inspect --bootstrap NAME`, then that builder's driver, status and platforms."""
    result = run_docker(endpoints, endpoints.multiarch_context, ["buildx", "inspect", "--bootstrap", name])
    found = builder(endpoints, endpoints.multiarch_context, name) if result.succeeded else None
    return BuilderReady(result, found)


def build_and_push(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...] = PLATFORMS,
                   repository: str = REPOSITORY, tag: str = TAG, options: tuple[str, ...] = ("--push",)) -> PushResult:
    """`docker buildx build --platform … -t REGISTRY/REPO:TAG --push .` with the multiarch builder.

    `options` replaces `--push`, e.g. `("--provenance=false", "--output", "type=registry,oci-mediatypes=true")`.
    """
    ref = image_ref(endpoints, repository, tag)
    args = ["buildx", "build", "--platform", ",".join(platforms), "-t", ref, *options, str(workdir)]
    result = run_docker(endpoints, endpoints.multiarch_context, args, workdir)
    served = Registry(endpoints.registry).get_manifest(repository, tag) if result.succeeded else None
    return PushResult(result, ref, served.media_type if served else "", served.digest if served else "")


def run_image(endpoints: Endpoints, ref: str, platform: str, command: tuple[str, ...] = ()) -> CommandResult:
    """`docker run --rm --network none --platform PLATFORM IMAGE [COMMAND]` on the multiarch daemon."""
    args = ["run", "--rm", "--network", "none", "--platform", platform, ref, *command]
    return run_docker(endpoints, endpoints.multiarch_context, args)


def try_container_builder(endpoints: Endpoints, name: str = "seed-multiarch") -> BuilderReady:
    """The seed's fix: a docker-container builder, bootstrapped (it needs the moby/buildkit image), then removed."""
    context = endpoints.multiarch_context
    run_docker(endpoints, context, ["buildx", "create", "--name", name, "--driver", "docker-container"])
    try:
        ready = bootstrap(endpoints, name)
    finally:
        run_docker(endpoints, context, ["buildx", "rm", "--force", name])
    return ready
