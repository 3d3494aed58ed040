"""Host mode: the experiment on the learner's own Docker engine.

The lab keeps its own DOCKER_CONFIG (two contexts that point at the learner's
engine, and the experiment's builder), so the learner's `~/.docker`, current
builder and contexts stay as they were. On the engine it creates only what it
labels or records: a `registry:2` container published on 127.0.0.1, and the
docker-container builder of step 3. `down` removes exactly those.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient, DockerException

from labkit.engine import network
from labkit.engine.builders import Builder, list_builders
from labkit.engine.commands import run_docker
from labkit.engine.endpoints import Endpoints
from labkit.engine.facts import engine_facts
from labkit.engine.sandbox import ServiceStatus
from labkit.errors import LabError
from labkit.oci.registry import Registry
from labkit.settings import Settings

LABEL = "org.multiarch-lab.sandbox"
CONTEXTS = ("host", "host-multiarch")  # step 2 runs on the first, step 3 builds on the second
BUILDER = "multiarch"
REGISTRY_IMAGE = "registry:2"
PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
               "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def _config(settings: Settings) -> Path:
    return settings.host_dir / "docker-config"


def _state_file(settings: Settings) -> Path:
    return settings.host_dir / "state.json"


def _state(settings: Settings) -> dict[str, object]:
    try:
        value: dict[str, object] = json.loads(_state_file(settings).read_text())
    except (OSError, ValueError):
        return {}
    return value


def _save_state(settings: Settings, **changes: object) -> None:
    settings.host_dir.mkdir(parents=True, exist_ok=True)
    _state_file(settings).write_text(json.dumps({**_state(settings), **changes}, indent=1) + "\n")


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


def endpoints(settings: Settings) -> Endpoints:
    """The learner's engine as the steps see it (two contexts in the lab's own config)."""
    port = _state(settings).get("registry_port", settings.registry_port + 1)
    return Endpoints(docker_cli(settings), _config(settings), CONTEXTS[0], CONTEXTS[1], f"127.0.0.1:{port}",
                     seed_builder=str(_state(settings).get("builder", BUILDER)),
                     buildkitd_config=settings.host_dir / "buildkitd.toml")


def prepare(settings: Settings) -> Endpoints:
    """The lab's config folder with its contexts and plugins; nothing is created on the engine."""
    config = _config(settings)
    config.mkdir(parents=True, exist_ok=True)
    if not (config / "config.json").exists():
        (config / "config.json").write_text("{}\n")
    _link_plugins(settings)
    target = learner_endpoint(settings)
    client = DockerClient(config=config, client_call=[str(docker_cli(settings))])
    existing = {context.name: context for context in client.context.list()}
    for name in CONTEXTS:
        if name not in existing:
            client.context.create(name, description="multiarch lab: your engine", docker={"host": target})
        elif (existing[name].endpoints or {}).get("docker") is None or existing[name].endpoints["docker"].host != target:
            run_docker(endpoints(settings), name, ["context", "update", "--docker", f"host={target}", name])
    return endpoints(settings)


def _registry_containers(client: DockerClient, settings: Settings) -> list[str]:
    return [c.id for c in client.container.list(all=True, filters=[("label", f"{LABEL}={settings.name}")])]


def _start_registry(settings: Settings, ends: Endpoints) -> None:
    client = ends.client(CONTEXTS[0])
    state = _state(settings)
    port = int(str(state.get("registry_port", 0)) or 0)
    running = client.container.list(filters=[("label", f"{LABEL}={settings.name}")])
    if running and port and Registry(f"127.0.0.1:{port}").ping():
        return
    for stale in _registry_containers(client, settings):
        client.container.remove(stale, force=True)
    # From the port after the sandbox's on: host mode can run beside the sandbox (and macOS's AirPlay holds 5000).
    port = network.free_port("127.0.0.1", settings.registry_port + 1)
    has_bridge = any(n.name == "bridge" for n in client.network.list())
    name = f"multiarch-lab-registry-{settings.name}"
    if has_bridge:
        placement: dict[str, Any] = {"publish": [(f"127.0.0.1:{port}", 5000)]}
    else:  # an engine without a bridge network: host network, listening on loopback only
        placement = {"networks": ["host"], "envs": {"REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}"}}
    try:
        client.container.run(REGISTRY_IMAGE, name=name, detach=True, labels={LABEL: settings.name}, **placement)
    except DockerException as error:
        raise LabError(
            f"The local registry ({REGISTRY_IMAGE}) could not be started: {(error.stderr or '').strip()[-300:]}",
            "With no internet, load it first (`docker load -i registry.tar`, saved on a connected machine), "
            "or use the sandbox.",
        ) from None
    _save_state(settings, registry_port=port)
    deadline = time.monotonic() + 30
    while not Registry(f"127.0.0.1:{port}").ping():
        if time.monotonic() > deadline:
            raise LabError(f"The registry container does not answer on 127.0.0.1:{port}.",
                           f"Read its log with `docker logs {name}`, then run `labkit up` again.")
        time.sleep(0.1)


def _write_buildkitd_config(settings: Settings, registry: str) -> None:
    """BuildKit in a container talks HTTPS unless told the local registry speaks plain HTTP."""
    text = f'[registry."{registry}"]\n  http = true\n  insecure = true\n'
    path = settings.host_dir / "buildkitd.toml"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def load_buildkit(settings: Settings, tar: Path) -> list[str]:
    """Load a `moby/buildkit` image saved with `docker save` on a connected machine; returns what was loaded."""
    if not tar.is_file():
        raise LabError(f"{tar} is not a file.", "Save the image on a connected machine: "
                       f"`docker save {settings.buildkit_image} -o buildkit.tar`, copy it here, pass its path.")
    result = run_docker(prepare(settings), CONTEXTS[1], ["load", "-i", str(tar)])
    if not result.succeeded:
        raise LabError(f"`docker load` refused {tar.name}: {result.stderr.strip()[-300:]}",
                       "Check that the file is a `docker save` archive of moby/buildkit.")
    return [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("Loaded image")]


def up(settings: Settings, buildkit_tar: Path | None = None) -> Endpoints:
    """Contexts in the lab's config, the registry container, and the buildkitd config; returns the endpoints."""
    ends = prepare(settings)
    facts = engine_facts(ends, CONTEXTS[0])
    if not facts.answers:
        raise LabError(f"No Docker engine answers at {learner_endpoint(settings)} ({facts.error}).",
                       "Start Docker (Docker Desktop, or `sudo systemctl start docker`), set LABKIT_DOCKER_HOST, "
                       "or use the sandbox (LABKIT_MODE=sandbox, as root).")
    if not facts.buildx_version:
        raise LabError("The buildx plugin is missing from your Docker CLI.",
                       "Install it (Debian/Ubuntu: `apt-get install docker-buildx-plugin` or `docker-buildx`).")
    if buildkit_tar is not None:
        load_buildkit(settings, buildkit_tar)
    _start_registry(settings, ends)
    ends = endpoints(settings)
    _write_buildkitd_config(settings, ends.registry)
    return ends


def down(settings: Settings) -> list[str]:
    """Remove the builder and the registry container the lab created, then its config folder."""
    if not _config(settings).is_dir():
        return []
    ends = endpoints(settings)
    removed = []
    names = [b.name for b in _builders(ends)]
    if ends.seed_builder in names:
        run_docker(ends, CONTEXTS[1], ["buildx", "rm", "--force", ends.seed_builder])
        removed.append(f"builder {ends.seed_builder}")
    try:
        client = ends.client(CONTEXTS[0])
        for container in _registry_containers(client, settings):
            client.container.remove(container, force=True, volumes=True)
            removed.append("registry container")
    except DockerException:
        pass
    shutil.rmtree(settings.host_dir, ignore_errors=True)
    return removed


def _builders(ends: Endpoints) -> list[Builder]:
    return list_builders(ends, CONTEXTS[1])


def status(settings: Settings) -> list[ServiceStatus]:
    """The engine, the registry container and the experiment's builder."""
    ends = endpoints(settings) if _config(settings).is_dir() else None
    target = learner_endpoint(settings)
    if ends is None:
        return [ServiceStatus("engine", "not prepared (run `labkit up`)", None, target, "")]
    facts = engine_facts(ends, CONTEXTS[0])
    rows = [ServiceStatus("engine", f"Docker {facts.engine_version}, {facts.image_store} image store" if facts.answers
                          else "not answering", None, target, "")]
    registry_up = Registry(ends.registry).ping()
    rows.append(ServiceStatus("registry", "running" if registry_up else "stopped", None, f"http://{ends.registry}", ""))
    return rows
