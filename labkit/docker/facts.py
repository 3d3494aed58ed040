"""Facts about an engine that decide what it can build, parsed from `docker info --format json`."""

from __future__ import annotations

import json
from typing import Any

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.results import EngineFacts, ImageStore

CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


def parse_info(text: str) -> EngineFacts:
    """EngineFacts from the output of `docker info --format json` (which prints JSON even with no engine)."""
    try:
        info: dict[str, Any] = json.loads(text)
    except ValueError:
        return EngineFacts("", "", "", "unknown", "", "", text.strip()[:300])
    client = info.get("ClientInfo") or {}
    buildx = next((p.get("Version", "") for p in client.get("Plugins") or [] if p.get("Name") == "buildx"), "")
    pairs = {str(pair[0]): str(pair[1]) for pair in info.get("DriverStatus") or [] if len(pair) == 2}
    engine = info.get("ServerVersion", "")
    store: ImageStore = "unknown"
    if engine:
        store = "containerd" if pairs.get("driver-type") == CONTAINERD_SNAPSHOTTER else "classic"
    errors = info.get("ServerErrors") or []
    return EngineFacts(client.get("Version", ""), buildx, engine, store, info.get("OSType", ""),
                       info.get("Architecture", ""), "; ".join(errors))


def engine_facts(endpoints: Endpoints, context: str) -> EngineFacts:
    """`docker info`, parsed, for the engine behind a context."""
    result = run_docker(endpoints, context, ["info", "--format", "json"])
    facts = parse_info(result.stdout)
    if not facts.error and not facts.answers:
        return EngineFacts(facts.cli_version, facts.buildx_version, "", "unknown", "", "", result.stderr.strip()[:300])
    return facts


def image_store(endpoints: Endpoints, context: str) -> ImageStore:
    """Which image store the engine behind a context uses (`unknown` when it does not answer)."""
    return engine_facts(endpoints, context).image_store
