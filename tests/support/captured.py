"""Engine facts and index reports read from the captured real outputs under tests/data, for the offline tests."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from labkit.docker.builders import parse_buildx_ls
from labkit.docker.facts import parse_info
from labkit.oci import media
from labkit.oci.index import IndexReport, parse_index
from labkit.results import Facts
from tests.conftest import DATA

ENGINES = DATA / "engines"


def facts_of(config: str, **overrides: object) -> Facts:
    """The doctor's facts of a captured engine (data/engines/CONFIG: `docker info`, `docker buildx ls`), in host mode."""
    engine = parse_info((ENGINES / config / "info.json").read_text())
    ls = ENGINES / config / "buildx-ls.jsonl"
    builders = tuple(parse_buildx_ls(ls.read_text())) if ls.exists() else ()
    facts = Facts(mode="host", build_engine=engine, multiarch_engine=engine, builders=builders, creates_builder=True,
                  buildkit_image_present=False, docker_hub_reachable=False, qemu=("qemu-aarch64",),
                  registry_port=5000, registry_port_free=True)
    return replace(facts, **overrides)  # type: ignore[arg-type]


def served(name: str) -> dict[str, str]:
    """The registry's headers for a captured index (Content-Type, Docker-Content-Digest)."""
    value: dict[str, str] = json.loads((DATA / f"{name}-index.served.json").read_text())
    return value


def manifest_files(name: str) -> list[Path]:
    """The captured manifests a captured index lists."""
    return sorted(DATA.glob(f"{name}-manifest-*.json"))


def index_report(name: str, with_manifests: bool = True) -> IndexReport:
    """The report of a captured index (data/NAME-index.json), with the manifests it lists unless told not to."""
    raw = (DATA / f"{name}-index.json").read_bytes()
    manifests = {}
    if with_manifests:
        for path in manifest_files(name):
            data = path.read_bytes()
            manifests[media.digest_of(data)] = json.loads(data)
    headers = served(name)
    return parse_index(f"127.0.0.1:5000/demo:{name.split('-')[1]}", headers["Content-Type"],
                       headers["Docker-Content-Digest"], raw, manifests)
