"""Step 2: the two-platform build on the default builder, which fails; and the legacy builder, for contrast."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.builders import list_builders
from labkit.docker.commands import builder_selection, error_lines, run_docker
from labkit.docker.endpoints import Endpoints, require_context
from labkit.docker.facts import engine_facts
from labkit.experiment import LOCAL_TAG, PLATFORMS
from labkit.results import BuildAttempt, Builder, BuilderTrap, PlatformEmulation, Versions
from labkit.steps import inputs
from labkit.system import binfmt
from labkit.versions import vendored_buildkit


def build_on_default_builder(endpoints: Endpoints, workdir: Path, context: str | None = None, platforms: tuple[str, ...] = PLATFORMS,
          tag: str = LOCAL_TAG, legacy: bool = False, options: tuple[str, ...] = ()) -> BuildAttempt:
    """`docker build --platform … -t TAG .` on a context's default builder (`DOCKER_BUILDKIT=0` when legacy).

    The context defaults to the endpoints' `classic_context`, where step 2 runs.
    """
    context = context or endpoints.classic_context
    platforms, tag = inputs.platforms(platforms), inputs.image_ref(tag)
    inputs.build_folder(workdir)
    require_context(endpoints, context)
    args = ["build", "--platform", ",".join(platforms), "-t", tag, *options, str(workdir)]
    env = {"DOCKER_BUILDKIT": "0"} if legacy else {}
    result = run_docker(endpoints, context, args, workdir, env)
    error = () if result.succeeded else tuple(error_lines(result.stderr))
    return BuildAttempt(result, "legacy" if legacy else "BuildKit", error)


def builder_trap(endpoints: Endpoints, workdir: Path, name: str = "traptest", platforms: tuple[str, ...] = PLATFORMS) -> BuilderTrap:
    """The trap: `docker buildx create --use` a docker-container builder, then `docker build` on step 2's context.

    Each build runs with plain progress, whose `#0 building with …` line names the builder buildx chose; the builder
    is removed again whatever happens (it is never bootstrapped by `create`, and offline its bootstrap fails).
    """
    context = endpoints.classic_context
    inputs.build_folder(workdir)
    targets = ["--progress=plain", "--platform", ",".join(inputs.platforms(platforms)), "-t", LOCAL_TAG, str(workdir)]
    with builder_selection(endpoints):  # a buildx command on another context meanwhile would undo `--use`
        run_docker(endpoints, context, ["buildx", "rm", "--force", name])  # left by an interrupted run, if any
        create = run_docker(endpoints, context, ["buildx", "create", "--name", name, "--driver", "docker-container", "--use"])
        try:
            docker_build = run_docker(endpoints, context, ["build", *targets], workdir)
            buildx_build = run_docker(endpoints, context, ["buildx", "build", *targets], workdir)
            env_build = run_docker(endpoints, context, ["build", *targets], workdir, {"BUILDX_BUILDER": name})
        finally:
            remove = run_docker(endpoints, context, ["buildx", "rm", "--force", name])
    return BuilderTrap(create, docker_build, buildx_build, env_build, remove)


def emulation(endpoints: Endpoints, platform: str) -> PlatformEmulation:
    """Whether step 2's current builder lists a foreign platform, and the binfmt_misc entry that would run it."""
    context = endpoints.classic_context
    current = next((b for b in list_builders(endpoints, context) if b.current), None)
    entry = binfmt.entry(binfmt.emulator_for(platform))
    return PlatformEmulation(platform, context, current is not None and platform in current.platforms,
                             binfmt.emulator_for(platform), entry is not None and entry.enabled,
                             entry is not None and entry.fix_binary)


def versions(endpoints: Endpoints) -> Versions:
    """The CLI, engine, buildx and BuildKit versions of step 2's engine, as each reports itself."""
    context = endpoints.classic_context
    facts = engine_facts(endpoints, context)
    # The engine's own builder (named after its context, docker driver), whichever builder is current.
    own = next((b for b in list_builders(endpoints, context) if b.name == context), None)
    return Versions(facts.cli_version, facts.engine_version, facts.buildx_version,
                    own.buildkit if own else "", vendored_buildkit(facts.engine_version))


def current_builders(endpoints: Endpoints) -> list[Builder]:
    """`docker buildx ls` on step 2's context: the builder `docker build` uses."""
    return [b for b in list_builders(endpoints, endpoints.classic_context) if b.current]
