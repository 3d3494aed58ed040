"""Step 4: what was pushed — the index, its manifests, and what each manifest points to.

The registry's raw bytes are the one source: the tables, the JSON, the digest
proof and the diagram are all built from them.
"""

from __future__ import annotations

import json
from dataclasses import replace

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import BASE_REPOSITORY, BASE_TAG
from labkit.oci import media
from labkit.oci.index import IndexReport, parse_index
from labkit.oci.registry import Registry
from labkit.results import CommandResult


def read_index(endpoints: Endpoints, repository: str, tag: str) -> IndexReport:
    """The index under REPOSITORY:TAG in the lab's registry, with every manifest it lists."""
    registry = Registry(endpoints.registry)
    served = registry.get_manifest(repository, tag)
    ref = f"{endpoints.registry}/{repository}:{tag}"
    if served is None:
        raise LabError(f"{ref} is not in the registry.", "Run notebook 03 (or `labkit` step 3) to build and push it.")
    manifests = {}
    for item in served.json().get("manifests", []):
        found = registry.get_manifest(repository, item["digest"])
        if found is not None:
            manifests[item["digest"]] = found.json()
    return parse_index(ref, served.media_type, served.digest, served.data, manifests)


def base_image(endpoints: Endpoints, repository: str = BASE_REPOSITORY, tag: str = BASE_TAG) -> IndexReport:
    """The index `FROM busybox` resolves to: from the engine's docker.io mirror, else from Docker Hub."""
    if endpoints.mirror is not None:
        return read_index(replace(endpoints, registry=endpoints.mirror), repository, tag)
    ref = f"docker.io/{repository}:{tag}"
    result = run_docker(endpoints, endpoints.multiarch_context, ["buildx", "imagetools", "inspect", "--raw", ref])
    if not result.succeeded:
        raise LabError(f"{ref} could not be read from Docker Hub: {result.tail(200)}",
                       "Check your internet connection, or use the sandbox, which serves busybox itself.")
    raw = result.stdout.encode()
    return parse_index(ref, json.loads(raw).get("mediaType", ""), media.digest_of(raw), raw, {})


def imagetools_inspect(endpoints: Endpoints, image_ref: str) -> CommandResult:
    """`docker buildx imagetools inspect IMAGE`, as the CLI prints it."""
    return run_docker(endpoints, endpoints.multiarch_context, ["buildx", "imagetools", "inspect", image_ref])


def provenance_modes(endpoints: Endpoints, repository: str, report: IndexReport) -> list[str]:
    """For each attestation in the index, the SLSA provenance mode its in-toto statement shows.

    BuildKit writes the build's LLB definition (`buildConfig`) into the predicate only in mode=max
    (moby/buildkit solver/llbsolver/provenance.go); mode=min leaves it out.
    """
    registry = Registry(endpoints.registry)
    modes = []
    for entry in report.entries:
        if entry.kind != "attestation":
            continue
        for layer in entry.layers:
            statement = json.loads(registry.get_blob(repository, layer.digest))
            if str(statement.get("predicateType", "")).startswith("https://slsa.dev/provenance/"):
                predicate = statement.get("predicate", {})
                internal = predicate.get("buildDefinition", {}).get("internalParameters", {})  # SLSA v1 layout
                modes.append("max" if "buildConfig" in predicate or "buildConfig" in internal else "min")
    return modes
