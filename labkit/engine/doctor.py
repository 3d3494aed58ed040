"""The doctor: what this machine's Docker is, and what each step of the experiment will do on it.

Facts are gathered from the engine (`docker info`, `docker buildx ls`, ...) and
the host (binfmt_misc, ports, Docker Hub); predictions are a pure function of
the facts, so they are tested over captured outputs of real engines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from labkit.engine import network
from labkit.engine.builders import Builder, list_builders
from labkit.engine.commands import run_docker
from labkit.engine.endpoints import Endpoints
from labkit.engine.facts import EngineFacts, engine_facts
from labkit.provision import host, packages
from labkit.provision.packages import FetchedPackage
from labkit.settings import Settings

Outcome = Literal["succeeds", "fails", "unknown"]


@dataclass(frozen=True)
class Facts:
    """Everything the predictions depend on."""

    mode: str
    build_engine: EngineFacts  # where step 2 runs
    multiarch_engine: EngineFacts  # where step 3 builds
    builders: tuple[Builder, ...]  # as `docker buildx ls` shows them on step 2's context
    creates_builder: bool  # step 3 creates a docker-container builder (host mode)
    buildkit_image_present: bool
    docker_hub_reachable: bool
    qemu: tuple[str, ...]
    registry_port: int
    registry_port_free: bool
    packages: tuple[FetchedPackage, ...] = ()  # what the sandbox fetched from Debian (package, version, sha256)

    @property
    def current_builder(self) -> Builder | None:
        """The builder `docker build` uses on step 2's context."""
        return next((b for b in self.builders if b.current), None)


@dataclass(frozen=True)
class Prediction:
    """What one step will do here, and why."""

    step: str
    outcome: Outcome
    why: str


def predict(facts: Facts) -> list[Prediction]:
    """One prediction per step of the experiment."""
    rows = [Prediction("1 write the Dockerfile", "succeeds", "it only writes a file")]
    engine, current = facts.build_engine, facts.current_builder
    if not engine.answers:
        step2 = Prediction("2 docker build, two platforms", "unknown", f"no engine answers ({engine.error or 'start it'})")
    elif current is not None and current.driver not in ("docker", ""):
        step2 = Prediction("2 docker build, two platforms", "succeeds",
                           f"the current builder, {current.name}, uses the {current.driver} driver, which can build several platforms")
    elif engine.image_store == "containerd":
        step2 = Prediction("2 docker build, two platforms", "succeeds",
                           "the engine uses the containerd image store, which can hold a multi-platform index "
                           "(the default on fresh Docker Engine 29 and Docker Desktop 4.34+ installs)")
    else:
        step2 = Prediction("2 docker build, two platforms", "fails",
                           "the default builder uses the docker driver on the classic image store: "
                           "\"Multi-platform build is not supported for the docker driver\"")
    rows.append(step2)
    multi = facts.multiarch_engine
    if not multi.answers:
        step3 = Prediction("3 build both platforms and push", "unknown", f"no engine answers ({multi.error or 'start it'})")
    elif facts.creates_builder and (facts.buildkit_image_present or facts.docker_hub_reachable):
        source = "is already loaded" if facts.buildkit_image_present else "can be pulled from Docker Hub"
        step3 = Prediction("3 build both platforms and push", "succeeds",
                           f"`docker buildx create --name multiarch --use` works: moby/buildkit {source}")
    elif multi.image_store == "containerd":
        lead = "moby/buildkit cannot be had, so step 3 falls back to" if facts.creates_builder else "it uses"
        step3 = Prediction("3 build both platforms and push", "succeeds",
                           f"{lead} the engine's default builder, which the containerd image store lets build several platforms")
    else:
        step3 = Prediction("3 build both platforms and push", "fails",
                           "moby/buildkit cannot be had (no image loaded, Docker Hub unreachable) and the classic image "
                           "store cannot hold an index: `labkit up --buildkit-tar FILE`, or use the sandbox")
    rows.append(step3)
    rows.append(Prediction("4 inspect the index", step3.outcome,
                           "it reads what step 3 pushed" if step3.outcome == "succeeds" else "it needs what step 3 pushes"))
    other = "linux/arm64" if (multi.architecture or "x86_64") in ("x86_64", "amd64") else "linux/amd64"
    emulated = facts.qemu or multi.os_type != "linux"
    rows.append(Prediction(f"run the {other} variant", "succeeds" if emulated else "fails",
                           "QEMU emulation is registered" if emulated else "no QEMU emulator is registered in binfmt_misc"))
    return rows


def gather(settings: Settings, endpoints: Endpoints) -> Facts:
    """Ask the engine(s) and the host."""
    build = engine_facts(endpoints, endpoints.classic_context)
    multi = build if endpoints.multiarch_context == endpoints.classic_context else engine_facts(endpoints, endpoints.multiarch_context)
    builders = tuple(list_builders(endpoints, endpoints.classic_context)) if build.answers else ()
    image_present = multi.answers and run_docker(endpoints, endpoints.multiarch_context,
                                                 ["image", "inspect", settings.buildkit_image]).succeeded
    host_port = int(endpoints.registry.rsplit(":", 1)[1])
    return Facts(
        mode=settings.mode,
        build_engine=build,
        multiarch_engine=multi,
        builders=builders,
        creates_builder=bool(endpoints.seed_builder),
        buildkit_image_present=image_present,
        docker_hub_reachable=network.docker_hub_reachable(),
        qemu=tuple(host.registered_emulators()),
        registry_port=host_port,
        registry_port_free=network.port_is_free("127.0.0.1", host_port),
        packages=tuple(packages.read_record(settings)),
    )


def as_json(facts: Facts, predictions: list[Prediction]) -> dict[str, Any]:
    """Facts and predictions as plain JSON values."""
    return {"facts": asdict(facts), "predictions": [asdict(p) for p in predictions]}
