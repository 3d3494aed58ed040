"""The one interface every kind of engine offers; the rest of the lab sees an engine only through it and its endpoints."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Literal

from labkit.docker.builders import list_builders
from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import engine_facts
from labkit.docker.podman import Podman
from labkit.errors import LabError
from labkit.experiment import BUILDKIT_IMAGE
from labkit.provision import emulators, packages
from labkit.results import Check, Facts, ServiceStatus
from labkit.settings import Mode, Settings
from labkit.system import network

Daemon = Literal["classic", "multiarch"]  # the engine step 2 runs on, and the one step 3 builds on
DAEMONS: tuple[Daemon, ...] = ("classic", "multiarch")
# Where the lab does not own the engine: Debian's and Ubuntu's packages register every emulator with the F flag, and
# the image Docker's documentation uses does the same on any Linux engine (it needs Docker Hub).
HOST_EMULATOR_FIX = ("`sudo apt-get install qemu-user-static binfmt-support` (Debian 12, Ubuntu; `qemu-user-binfmt` from "
                     "Debian 13 on), or `docker run --privileged --rm tonistiigi/binfmt --install all`")


class Engine(ABC):
    """Where the experiment runs: started, stopped and described the same way whatever it is made of."""

    mode: ClassVar[Mode]
    title: ClassVar[str]  # how a notebook names it: "the sandbox"
    first_start: ClassVar[str] = ""  # what the first start costs, said before it begins

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def up(self, buildkit_tar: Path | None = None) -> Endpoints:
        """Provision what is missing, start what is not running; return when every service answers."""

    @abstractmethod
    def down(self) -> list[str]:
        """Stop or remove what the lab started, and only that; returns what it stopped."""

    @abstractmethod
    def status(self) -> list[ServiceStatus]:
        """One row per service."""

    @abstractmethod
    def endpoints(self) -> Endpoints:
        """The engine as the steps see it: a docker CLI, its config folder, two contexts, a registry, a builder plan."""

    @abstractmethod
    def prepare(self) -> Endpoints:
        """Endpoints good enough to ask questions (the doctor), without starting anything."""

    @abstractmethod
    def shell_environment(self, daemon: Daemon) -> dict[str, str]:
        """Variables that point a shell's `docker` at the engine step 2 (`classic`) or step 3 (`multiarch`) uses."""

    @abstractmethod
    def readiness(self) -> list[Check]:
        """What this engine needs in order to run the experiment, each checked, in the order to fix them."""

    def podman(self, endpoints: Endpoints) -> Podman:
        """podman beside the engine, pushing to its registry (the sandboxes fetch it on first use); host mode has none."""
        raise LabError("In host mode the lab does not install podman on your machine.",
                       "Install podman >= 4 yourself and type the commands shown, or run the lab as root (the sandbox).")

    def emulator_fix(self) -> str:
        """The command that registers the QEMU emulators this engine's containers need."""
        return HOST_EMULATOR_FIX

    def is_up(self) -> bool:
        """True when every service answers."""
        return all(row.ready for row in self.status())

    def facts(self, endpoints: Endpoints) -> Facts:
        """What the doctor's predictions depend on, asked of the engine(s) and the host."""
        build = engine_facts(endpoints, endpoints.classic_context)
        same = endpoints.multiarch_context == endpoints.classic_context
        multi = build if same else engine_facts(endpoints, endpoints.multiarch_context)
        builders = tuple(list_builders(endpoints, endpoints.classic_context)) if build.answers else ()
        image_present = multi.answers and run_docker(endpoints, endpoints.multiarch_context,
                                                     ["image", "inspect", BUILDKIT_IMAGE]).succeeded
        return Facts(
            mode=self.mode,
            build_engine=build,
            multiarch_engine=multi,
            builders=builders,
            creates_builder=bool(endpoints.create_builder),
            buildkit_image_present=image_present,
            docker_hub_reachable=network.docker_hub_reachable(),
            qemu=tuple(emulators.registered()),
            emulation=tuple(emulators.states(self.settings)),
            emulator_fix=self.emulator_fix(),
            registry_port=endpoints.registry.port,
            registry_port_free=network.port_is_free(endpoints.registry.host, endpoints.registry.port),
            packages=tuple(packages.read_record(self.settings)),
            has_mirror=endpoints.mirror is not None,
        )
