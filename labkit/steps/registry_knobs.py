"""Notebook 08: what each registry-compatibility knob changes in the bytes a single-platform push leaves.

Each push builds the experiment's Dockerfile for linux/amd64 on the multiarch engine and pushes it under a tag of
its own in `demo-knobs`; then the registry's bytes say what it is: an index (and of what) or one manifest.
"""

from __future__ import annotations

from pathlib import Path

from labkit.docker.endpoints import Endpoints
from labkit.oci.registry import Registry
from labkit.results import KnobPush
from labkit.steps import multiarch_build

KNOB_REPOSITORY = "demo-knobs"
# (the knob, its tag, the build's options): the default, then each knob alone, then the two together.
KNOBS = (("default (provenance, mode=min)", "default", ("--push",)),
         ("oci-mediatypes=false", "docker-types", ("--output", "type=image,push=true,oci-mediatypes=false")),
         ("--provenance=false", "no-provenance", ("--provenance=false", "--push")),
         ("--provenance=false, oci-mediatypes=true", "oci-single",
          ("--provenance=false", "--output", "type=image,push=true,oci-mediatypes=true")))


def push_each(endpoints: Endpoints, workdir: Path, platform: str = "linux/amd64",
              repository: str = KNOB_REPOSITORY) -> list[KnobPush]:
    """One push per knob, and what the registry serves for it."""
    registry = Registry(endpoints.registry)
    pushes = []
    for knob, tag, options in KNOBS:
        pushed = multiarch_build.build_and_push(endpoints, workdir, (platform,), repository, tag, options)
        served = registry.get_manifest(repository, tag) if pushed.result.succeeded else None
        items = served.json().get("manifests", []) if served else []
        entries = tuple(f"{item.get('platform', {}).get('os', '?')}/{item.get('platform', {}).get('architecture', '?')}"
                        f": {item.get('mediaType', '')}" for item in items)
        pushes.append(KnobPush(knob, pushed.result, pushed.media_type, entries))
    return pushes
