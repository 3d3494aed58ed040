"""Step 3: a builder that can build several platforms, and the two-platform build pushed to the registry."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.builders import builder, list_builders
from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import image_store
from labkit.errors import LabError
from labkit.experiment import BUILDKIT_IMAGE, PLATFORMS, REPOSITORY, TAG
from labkit.oci.registry import Registry
from labkit.results import BuilderChoice, BuilderReady, CommandResult, PushResult
from labkit.steps import inputs


def image_ref(endpoints: Endpoints, repository: str = REPOSITORY, tag: str = TAG) -> str:
    """The image reference in the local registry, e.g. 127.0.0.1:5000/demo:multi."""
    return f"{endpoints.registry}/{repository}:{tag}"


def bootstrap(endpoints: Endpoints, name: str) -> BuilderReady:
    """`docker buildx inspect --bootstrap NAME`, then that builder's driver, status and platforms."""
    known = [b.name for b in list_builders(endpoints, endpoints.multiarch_context)]
    if name not in known:
        raise LabError(f"There is no builder called {name!r}.", f"Use one of: {', '.join(known)}.")
    result = run_docker(endpoints, endpoints.multiarch_context, ["buildx", "inspect", "--bootstrap", name])
    found = builder(endpoints, endpoints.multiarch_context, name) if result.succeeded else None
    return BuilderReady(result, found)


def prepare_builder(endpoints: Endpoints) -> BuilderChoice:
    """The builder for step 3, as the endpoints' builder plan says.

    No builder to create (the sandbox): the multiarch daemon's own builder (docker driver, containerd image store).
    A builder to create (host mode): the article's `docker buildx create --name multiarch --use` (docker-container
    driver); when its moby/buildkit image cannot be had, the engine's default builder if its image store allows
    several platforms; otherwise nothing, and `why` says what is missing.
    """
    context = endpoints.multiarch_context
    if not endpoints.create_builder:
        ready = bootstrap(endpoints, context)
        why = "the multiarch daemon uses the containerd image store, so its own builder (docker driver) can build several platforms"
        return BuilderChoice("own", why, (ready.result,), ready.builder)
    name = endpoints.create_builder
    commands = []
    if builder(endpoints, context, name) is None:
        create = ["buildx", "create", "--name", name, "--use", "--driver-opt", "network=host"]
        if endpoints.buildkitd_config is not None:
            create += ["--buildkitd-config", str(endpoints.buildkitd_config)]
        commands.append(run_docker(endpoints, context, create))
    else:
        commands.append(run_docker(endpoints, context, ["buildx", "use", name]))
    ready = bootstrap(endpoints, name)
    commands.append(ready.result)
    if ready.builder is not None:
        why = f"the {name} builder (docker-container driver) started from the moby/buildkit image"
        return BuilderChoice("created", why, tuple(commands), ready.builder)
    error = (ready.result.stderr.strip().splitlines() or ["it did not start"])[-1]
    reason = f"it needs the {BUILDKIT_IMAGE} image, which could not be had: {error}"
    if image_store(endpoints, context) == "containerd":
        commands.append(run_docker(endpoints, context, ["buildx", "use", context]))
        fallback = bootstrap(endpoints, context)
        commands.append(fallback.result)
        why = (f"the {name} builder could not start ({reason}); the engine uses the containerd image store, "
               "so its default builder (docker driver) can build several platforms")
        return BuilderChoice("fallback", why, tuple(commands), fallback.builder)
    why = (f"the {name} builder could not start ({reason}), and the engine uses the classic image store, "
           "whose default builder cannot build several platforms. Load moby/buildkit "
           "(`labkit up --buildkit-tar FILE`, saved with `docker save moby/buildkit:buildx-stable-1` on a connected "
           "machine), turn on the containerd image store, or use the sandbox")
    return BuilderChoice("none", why, tuple(commands), None)


def build_and_push(endpoints: Endpoints, workdir: Path, platforms: tuple[str, ...] = PLATFORMS,
                   repository: str = REPOSITORY, tag: str = TAG, options: tuple[str, ...] = ("--push",),
                   env: dict[str, str] | None = None) -> PushResult:
    """`docker buildx build --platform … -t REGISTRY/REPO:TAG --push .` with the multiarch builder.

    `options` replaces `--push`, e.g. `("--provenance=false", "--output", "type=registry,oci-mediatypes=true")`.
    """
    ref = inputs.image_ref(image_ref(endpoints, repository, tag))
    platforms = inputs.platforms(platforms)
    inputs.build_folder(workdir)
    args = ["buildx", "build", "--platform", ",".join(platforms), "-t", ref, *options, str(workdir)]
    result = run_docker(endpoints, endpoints.multiarch_context, args, workdir, env)
    served = Registry(endpoints.registry).get_manifest(repository, tag) if result.succeeded else None
    return PushResult(result, ref, served.media_type if served else "", served.digest if served else "")


def run_image(endpoints: Endpoints, ref: str, platform: str, command: tuple[str, ...] = ()) -> CommandResult:
    """`docker run --rm --network none --platform PLATFORM IMAGE [COMMAND]` on the multiarch daemon."""
    args = ["run", "--rm", "--network", "none", "--platform", platform, ref, *command]
    return run_docker(endpoints, endpoints.multiarch_context, args)


def try_container_builder(endpoints: Endpoints, name: str = "article-multiarch") -> BuilderReady:
    """The article's fix: a docker-container builder, bootstrapped (it needs the moby/buildkit image), then removed."""
    context = endpoints.multiarch_context
    run_docker(endpoints, context, ["buildx", "create", "--name", name, "--driver", "docker-container"])
    try:
        ready = bootstrap(endpoints, name)
    finally:
        run_docker(endpoints, context, ["buildx", "rm", "--force", name])
    return ready


def ensure_pushed(endpoints: Endpoints, workdir: Path) -> PushResult | None:
    """Step 3, when a later notebook runs first: build and push demo:multi unless the registry has it (then None)."""
    if Registry(endpoints.registry).get_manifest(REPOSITORY, TAG) is not None:
        return None
    return build_and_push(endpoints, workdir)
