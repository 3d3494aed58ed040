"""The lab's own DOCKER_CONFIG: a config.json, the buildx plugin, and one context per engine it talks to.

The learner's `~/.docker` is never read or written: every docker command the lab runs names this folder.
"""

from __future__ import annotations

from pathlib import Path

from python_on_whales import DockerClient
from python_on_whales.utils import run

from labkit.system.files import write_if_changed


def link_plugin(config: Path, name: str, target: Path) -> None:
    """`cli-plugins/NAME` in the config folder, a link to target (replaced when it points elsewhere)."""
    plugins = config / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / name
    if not link.is_symlink() or link.resolve() != target.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def ensure_contexts(docker_cli: Path, config: Path, contexts: dict[str, str], description: str) -> None:
    """The config folder with one context per name, each pointing at its Docker host (updated when it moved)."""
    config.mkdir(parents=True, exist_ok=True)
    if not (config / "config.json").exists():
        write_if_changed(config / "config.json", "{}\n")
    client = DockerClient(config=config, client_call=[str(docker_cli)])
    existing = {context.name: context for context in client.context.list()}
    for name, host in contexts.items():
        if name not in existing:
            client.context.create(name, description=description, docker={"host": host})
            continue
        endpoint = (existing[name].endpoints or {}).get("docker")
        if endpoint is None or endpoint.host != host:
            run([*client.docker_cmd, "context", "update", "--docker", f"host={host}", name])
