"""Host mode: the experiment on the learner's own Docker engine.

The lab keeps its own DOCKER_CONFIG (two contexts that point at the learner's
engine, and the experiment's builder), so the learner's `~/.docker`, current
builder and contexts stay as they were.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from python_on_whales import DockerClient, DockerException

from labkit.docker import config
from labkit.docker.builders import list_builders
from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.docker.facts import engine_facts
from labkit.engines.base import Daemon, Engine
from labkit.errors import LabError
from labkit.experiment import BUILDER_NAME, BUILDKIT_IMAGE
from labkit.oci.registry import Registry
from labkit.results import Check, ServiceStatus
from labkit.settings import Mode, RegistryAddress, Settings
from labkit.system import network
from labkit.system.files import write_if_changed

LABEL = "org.multiarch-lab.sandbox"
# Two contexts of the lab's own, both pointing at the learner's engine: step 2 runs on the first, step 3 on the second.
CONTEXTS: dict[Daemon, str] = {"classic": "host", "multiarch": "host-multiarch"}
REGISTRY_IMAGE = "registry:2"
PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
               "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def _config(settings: Settings) -> Path:
    return settings.host_dir / "docker-config"


def registry_address(settings: Settings) -> RegistryAddress:
    """Host mode's registry: on loopback, on the port after the sandbox's, so both can run side by side."""
    return RegistryAddress(settings.registry_host, settings.registry_port + 1)


def docker_cli(settings: Settings) -> Path:
    """The learner's `docker` (or, where there is none, the one the sandbox fetched)."""
    found = shutil.which("docker")
    if found:
        return Path(found)
    if (settings.bin_dir / "docker").exists():
        return settings.bin_dir / "docker"
    raise LabError("No `docker` command is on your PATH.", "Install Docker (Engine or Desktop), or use the sandbox as root.")


def learner_endpoint(settings: Settings) -> str:
    """The learner's engine: LABKIT_DOCKER_HOST, else DOCKER_HOST, else their current context (read only)."""
    if settings.host_docker:
        return settings.host_docker
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    try:
        context = DockerClient(client_call=[str(docker_cli(settings))]).context.inspect(None)
        endpoint = (context.endpoints or {}).get("docker")
    except DockerException:
        endpoint = None
    return endpoint.host if endpoint is not None and endpoint.host else "unix:///var/run/docker.sock"


def _link_plugins(settings: Settings) -> None:
    """The learner's CLI plugins (buildx) in the lab's config folder, as links; the sandbox's buildx as a last resort."""
    plugins = _config(settings) / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    sources = [Path.home() / ".docker" / "cli-plugins", *map(Path, PLUGIN_DIRS)]
    have_buildx = any((folder / "docker-buildx").exists() for folder in sources[1:])
    for plugin in sorted(sources[0].glob("docker-*")) if sources[0].is_dir() else []:
        link = plugins / plugin.name
        if not link.exists():
            link.symlink_to(plugin)
        have_buildx |= plugin.name == "docker-buildx"
    fetched = settings.root_dir / "usr/libexec/docker/cli-plugins/docker-buildx"
    if not have_buildx and fetched.exists() and not (plugins / "docker-buildx").exists():
        (plugins / "docker-buildx").symlink_to(fetched)


def _registry_containers(client: DockerClient, settings: Settings) -> list[str]:
    return [c.id for c in client.container.list(all=True, filters=[("label", f"{LABEL}={settings.name}")])]


def _start_registry(settings: Settings, ends: Endpoints) -> None:
    client = ends.client(ends.classic_context)
    address = ends.registry
    running = client.container.list(filters=[("label", f"{LABEL}={settings.name}")])
    if running and Registry(address).ping():
        return
    for stale in _registry_containers(client, settings):
        client.container.remove(stale, force=True)
    if not network.port_is_free(address.host, address.port):
        raise LabError(
            f"Port {address.port} on {address.host} is taken by another program, so host mode's registry cannot listen there.",
            f"Host mode uses the port after LABKIT_REGISTRY_PORT: set LABKIT_REGISTRY_PORT={address.port} (so that "
            f"{address.port + 1} is used) or another port whose next one is free, and run `labkit up` again.",
        )
    has_bridge = any(n.name == "bridge" for n in client.network.list())
    name = f"multiarch-lab-registry-{settings.name}"
    if has_bridge:
        placement: dict[str, Any] = {"publish": [(str(address), 5000)]}
    else:  # an engine without a bridge network: host network, listening on loopback only
        placement = {"networks": ["host"], "envs": {"REGISTRY_HTTP_ADDR": str(address)}}
    try:
        client.container.run(REGISTRY_IMAGE, name=name, detach=True, labels={LABEL: settings.name}, **placement)
    except DockerException as error:
        raise LabError(
            f"The local registry ({REGISTRY_IMAGE}) could not be started: {(error.stderr or '').strip()[-300:]}",
            "With no internet, load it first (`docker load -i registry.tar`, saved on a connected machine), "
            "or use the sandbox.",
        ) from None
    deadline = time.monotonic() + 30
    while not Registry(address).ping():
        if time.monotonic() > deadline:
            raise LabError(f"The registry container does not answer on {address}.",
                           f"Read its log with `docker logs {name}`, then run `labkit up` again.")
        time.sleep(0.1)


def _write_buildkitd_config(settings: Settings, registry: RegistryAddress) -> None:
    """BuildKit in a container talks HTTPS unless told the local registry speaks plain HTTP."""
    write_if_changed(settings.host_dir / "buildkitd.toml", f'[registry."{registry}"]\n  http = true\n  insecure = true\n')


def load_buildkit(ends: Endpoints, tar: Path) -> list[str]:
    """Load a `moby/buildkit` image saved with `docker save` on a connected machine; returns what was loaded."""
    if not tar.is_file():
        raise LabError(f"{tar} is not a file.", "Save the image on a connected machine: "
                       f"`docker save {BUILDKIT_IMAGE} -o buildkit.tar`, copy it here, pass its path.")
    result = run_docker(ends, ends.multiarch_context, ["load", "-i", str(tar)])
    if not result.succeeded:
        raise LabError(f"`docker load` refused {tar.name}: {result.tail(300)}",
                       "Check that the file is a `docker save` archive of moby/buildkit.")
    return [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("Loaded image")]


class HostEngine(Engine):
    """The learner's own Docker engine, used through the lab's own config folder; the lab adds a registry container.

    On the engine it creates only what it labels or names: a `registry:2` container published on 127.0.0.1, and the
    docker-container builder of step 3. `down` removes exactly those.
    """

    mode: ClassVar[Mode] = "host"
    title: ClassVar[str] = "host mode (your Docker engine)"

    def endpoints(self) -> Endpoints:
        """The learner's engine as the steps see it (two contexts in the lab's own config), and step 3's builder plan:
        create the article's docker-container builder."""
        settings = self.settings
        return Endpoints(docker_cli(settings), _config(settings), CONTEXTS["classic"], CONTEXTS["multiarch"],
                         registry_address(settings), create_builder=BUILDER_NAME,
                         buildkitd_config=settings.host_dir / "buildkitd.toml")

    def prepare(self) -> Endpoints:
        """The lab's config folder with its contexts and plugins; nothing is created on the engine."""
        settings = self.settings
        _config(settings).mkdir(parents=True, exist_ok=True)
        _link_plugins(settings)
        target = learner_endpoint(settings)
        config.ensure_contexts(docker_cli(settings), _config(settings), dict.fromkeys(CONTEXTS.values(), target),
                               "multiarch lab: your engine")
        return self.endpoints()

    def up(self, buildkit_tar: Path | None = None) -> Endpoints:
        """Contexts in the lab's config, the registry container, and the buildkitd config."""
        ends = self.prepare()
        facts = engine_facts(ends, ends.classic_context)
        if not facts.answers:
            raise LabError(f"No Docker engine answers at {learner_endpoint(self.settings)} ({facts.error}).",
                           "Start Docker (Docker Desktop, or `sudo systemctl start docker`), set LABKIT_DOCKER_HOST, "
                           "or use the sandbox (LABKIT_MODE=sandbox, as root).")
        if not facts.buildx_version:
            raise LabError("The buildx plugin is missing from your Docker CLI.",
                           "Install it (Debian/Ubuntu: `apt-get install docker-buildx-plugin` or `docker-buildx`).")
        if buildkit_tar is not None:
            load_buildkit(ends, buildkit_tar)
        _start_registry(self.settings, ends)
        _write_buildkitd_config(self.settings, ends.registry)
        return ends

    def down(self) -> list[str]:
        """Remove the builder and the registry container the lab created, then its config folder."""
        if not _config(self.settings).is_dir():
            return []
        ends = self.endpoints()
        removed = []
        if ends.create_builder in [b.name for b in list_builders(ends, ends.multiarch_context)]:
            run_docker(ends, ends.multiarch_context, ["buildx", "rm", "--force", ends.create_builder])
            removed.append(f"builder {ends.create_builder}")
        try:
            client = ends.client(ends.classic_context)
            for container in _registry_containers(client, self.settings):
                client.container.remove(container, force=True, volumes=True)
                removed.append("registry container")
        except DockerException:
            pass
        shutil.rmtree(self.settings.host_dir, ignore_errors=True)
        return removed

    def status(self) -> list[ServiceStatus]:
        """The engine and the registry container."""
        target = learner_endpoint(self.settings)
        if not _config(self.settings).is_dir():
            return [ServiceStatus("engine", "not prepared", None, target, "", "run `labkit up`")]
        ends = self.endpoints()
        facts = engine_facts(ends, ends.classic_context)
        detail = f"Docker {facts.engine_version}, {facts.image_store} image store"
        engine = (ServiceStatus("engine", "running", None, target, "", detail) if facts.answers
                  else ServiceStatus("engine", "not answering", None, target, "", facts.error))
        registry_up = Registry(ends.registry).ping()
        return [engine, ServiceStatus("registry", "running" if registry_up else "stopped", None, f"http://{ends.registry}", "")]

    def shell_environment(self, daemon: Daemon) -> dict[str, str]:
        """The lab's own config folder and the context for that step, both pointing at the learner's engine."""
        return {"DOCKER_CONFIG": str(self.prepare().docker_config), "DOCKER_CONTEXT": CONTEXTS[daemon]}

    def readiness(self) -> list[Check]:
        """The learner's engine answers and has buildx, and the lab's registry container answers."""
        ends = self.endpoints()
        engine = engine_facts(ends, ends.classic_context)
        return [
            Check(engine.answers, f"your Docker engine answers ({engine.engine_version or engine.error})",
                  "starting Docker, or setting LABKIT_DOCKER_HOST"),
            Check(bool(engine.buildx_version), "the buildx plugin is installed", "installing docker-buildx-plugin"),
            Check(Registry(ends.registry).ping(), f"the lab's registry container answers on {ends.registry}", "`labkit up`"),
        ]
