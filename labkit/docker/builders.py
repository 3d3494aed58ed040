"""Builders as `docker buildx ls --format json` reports them."""

from __future__ import annotations

import json

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.results import Builder


def parse_buildx_ls(text: str) -> list[Builder]:
    """Builders from the JSON lines of `docker buildx ls --format json`."""
    builders = []
    for line in text.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        node = (item.get("Nodes") or [{}])[0]
        builders.append(Builder(
            name=item.get("Name", ""),
            driver=item.get("Driver", ""),
            status=node.get("Status", "error" if item.get("Err") else ""),
            buildkit=node.get("Version", ""),
            platforms=tuple(node.get("Platforms") or ()),
            error=item.get("Err", ""),
            current=bool(item.get("Current", False)),
        ))
    return builders


def list_builders(endpoints: Endpoints, context: str) -> list[Builder]:
    """`docker buildx ls`, parsed."""
    result = run_docker(endpoints, context, ["buildx", "ls", "--format", "json"])
    return parse_buildx_ls(result.stdout)


def builder(endpoints: Endpoints, context: str, name: str) -> Builder | None:
    """One builder by name, or None."""
    return next((b for b in list_builders(endpoints, context) if b.name == name), None)
