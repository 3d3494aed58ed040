"""Reproducible digests: the same index, byte for byte, from two builds that start from a clean builder cache.

What varies from one build to the next is time: the image config's `created`, the files a `RUN` step writes, and the
provenance attestation's start and finish. `SOURCE_DATE_EPOCH` pins the first, the exporter's
`rewrite-timestamp=true` the second, and attestations off removes the third (moby/buildkit v0.25.2
docs/build-repro.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from labkit.docker.commands import error_lines, run_docker
from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import PLATFORMS, REPOSITORY
from labkit.oci import image, layout
from labkit.oci.index import parse_index
from labkit.oci.registry import Registry
from labkit.results import CommandResult, ReproBuild
from labkit.steps import inputs, multiarch_build

EPOCH = "0"  # SOURCE_DATE_EPOCH: 1970-01-01T00:00:00Z
TAG = "repro"
DOCKERFILE = 'FROM busybox\nRUN uname -m > /built-on\nCMD ["cat", "/built-on"]\n'


def write(folder: Path) -> Path:
    """The build folder: a Dockerfile whose `RUN` step writes a file (its time is what `rewrite-timestamp` pins)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(DOCKERFILE)
    return folder


def _shown(result: CommandResult, folder: Path) -> CommandResult:
    """The command as typed in the build folder (its path shown as `.`)."""
    return CommandResult(result.context, result.command.replace(str(folder), "."), result.return_code,
                         result.stdout, result.stderr)


def _build_args(platforms: tuple[str, ...], output: str, provenance: bool, folder: Path) -> list[str]:
    attest = "--provenance=mode=min" if provenance else "--provenance=false"
    return ["buildx", "build", "--platform", ",".join(inputs.platforms(platforms)), "--network", "none", attest,
            "--sbom=false", "--output", output, str(folder)]


def image_exporter(endpoints: Endpoints, folder: Path, platforms: tuple[str, ...] = PLATFORMS) -> tuple[CommandResult, list[str]]:
    """`rewrite-timestamp=true` on the image exporter (push to the registry), and its error lines when refused."""
    write(folder)
    output = f"type=image,name={multiarch_build.image_ref(endpoints, tag=TAG)},push=true,rewrite-timestamp=true"
    result = _shown(run_docker(endpoints, endpoints.multiarch_context, _build_args(platforms, output, False, folder),
                               folder, {"SOURCE_DATE_EPOCH": EPOCH}), folder)
    return result, ([] if result.succeeded else error_lines(result.stderr))


def build_layout(endpoints: Endpoints, folder: Path, name: str, platforms: tuple[str, ...] = PLATFORMS,
          rewrite_timestamp: bool = True, provenance: bool = False) -> ReproBuild:
    """Prune the builder's cache, then `SOURCE_DATE_EPOCH=0 docker buildx build … --output type=oci,dest=NAME.tar`."""
    write(folder)
    context = endpoints.multiarch_context
    prune = run_docker(endpoints, context, ["buildx", "prune", "--all", "--force"])
    dest = folder / f"{name}.tar"
    output = f"type=oci,dest={dest}" + (",rewrite-timestamp=true" if rewrite_timestamp else "")
    result = _shown(run_docker(endpoints, context, _build_args(platforms, output, provenance, folder), folder,
                               {"SOURCE_DATE_EPOCH": EPOCH}), folder)
    if not result.succeeded:
        raise LabError(f"The build failed: {' '.join(error_lines(result.stderr))[-300:]}",
                       "Run `labkit status` to see whether the multiarch daemon is up, then run the cell again.")
    found = layout.read(dest)
    report = parse_index(f"{name}.tar", str(found.index["mediaType"]), found.index_digest,
                         found.index_bytes, found.manifests())
    times = tuple((entry.platform, layout.newest_file_time(found.blobs[entry.layers[-1].digest]))
                  for entry in report.entries if entry.kind == "image" and entry.layers)
    return ReproBuild(prune, result, dest, report, times)


def build_twice(endpoints: Endpoints, folder: Path, names: tuple[str, str], platforms: tuple[str, ...] = PLATFORMS,
                rewrite_timestamp: bool = True, provenance: bool = False) -> tuple[ReproBuild, ReproBuild]:
    """The same build twice, each from an empty builder cache.

    A layer's tar headers keep file times in whole seconds: without `rewrite-timestamp`, two builds within one second
    could write the same times by chance, so the second then starts in a later second than the first ended.
    """
    first = build_layout(endpoints, folder, names[0], platforms, rewrite_timestamp, provenance)
    if not rewrite_timestamp:
        time.sleep(1.0 - time.time() % 1.0)
    return first, build_layout(endpoints, folder, names[1], platforms, rewrite_timestamp, provenance)


def push(endpoints: Endpoints, folder: Path, name: str, tag: str = TAG) -> str:
    """Push the layout NAME.tar to the lab's registry as demo:TAG; the digest the registry gives its index."""
    found = layout.read(folder / f"{name}.tar")
    image.push(Registry(endpoints.registry), REPOSITORY, tag, found.image())
    served = Registry(endpoints.registry).get_manifest(REPOSITORY, tag)
    return served.digest if served is not None else ""


def differing_fields(first: ReproBuild, second: ReproBuild) -> list[str]:
    """The fields of the two builds' provenance statements that differ, as dotted paths (values left out)."""
    def statements(build: ReproBuild) -> list[object]:
        found = layout.read(build.layout)
        return [json.loads(found.blobs[layer.digest]) for entry in build.index.entries if entry.kind == "attestation"
                for layer in entry.layers]

    paths: set[str] = set()
    for a, b in zip(statements(first), statements(second), strict=True):
        paths |= _differences(a, b, "")
    return sorted(paths)


def _differences(a: object, b: object, where: str) -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found: set[str] = set()
        for key in sorted(set(a) | set(b)):
            found |= _differences(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = set()
        for number, (x, y) in enumerate(zip(a, b, strict=True)):
            found |= _differences(x, y, f"{where}[{number}]")
        return found
    return set() if a == b else {where}
