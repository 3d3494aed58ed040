"""Notebook 06: indexes made four ways, side by side in one table, and what podman is, in one paragraph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from labkit.oci import platforms
from labkit.oci.index import IndexReport
from labkit.results import CommandResult, IndexMade, PodmanFacts
from labkit.views.frames import Table, index_table
from labkit.views.text import command_text


def _layers(report: IndexReport) -> dict[str, tuple[str, ...]]:
    return {platforms.normalize(e.platform): tuple(layer.digest for layer in e.layers)
            for e in report.entries if e.kind == "image"}


def comparison_table(reports: Sequence[tuple[str, IndexReport]], reference: IndexReport) -> Table:
    """One row per index: media types, platforms, attestations, sizes, and whether its layers are the reference's.

    Platforms (and the layer sizes of each) are sorted: podman adds each platform's image to its list as that build
    finishes, so the order of its entries changes from run to run."""
    same = _layers(reference)
    rows = []
    for made_by, report in reports:
        images = sorted((e for e in report.entries if e.kind == "image"), key=lambda e: e.platform)
        rows.append((
            made_by,
            report.media_type,
            ", ".join(sorted({e.manifest.media_type for e in images})),
            ", ".join(e.platform for e in images),
            len(report.entries) - len(images),
            len(report.raw),
            ", ".join(str(sum(layer.size for layer in e.layers)) for e in images),
            "yes" if _layers(report) == same else "no",
        ))
    return Table(pd.DataFrame(rows, columns=[
        "made by", "index media type", "image manifest media type", "platforms", "attestations", "index (bytes)",
        "layers (bytes, per image)", "same layers as BuildKit's"]))


def index_table_by_platform(report: IndexReport) -> Table:
    """The index table (platform, media type, kind, size, short digest) with its rows sorted by platform."""
    return index_table(replace(report, entries=tuple(sorted(report.entries, key=lambda e: (e.kind, e.platform)))))


def podman_output(result: CommandResult) -> str:
    """What a podman command printed that does not change from run to run: the build's `[platform] STEP n/m: …`
    lines, sorted (podman builds the platforms side by side, so their lines interleave differently each time), and
    the push's last line. Image ids, layer digests and pull messages are left out."""
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
    steps = sorted({line for line in lines if line.startswith("[") and "] STEP " in line})
    return "\n".join(steps + [line for line in lines if line.startswith("Writing manifest list")])


def made_text(made: IndexMade) -> str:
    """Each command of an index made without `buildx build` as typed, its exit code and what it printed (podman's
    output reduced by podman_output), then what the registry serves under the tag."""
    shown = []
    for result in made.commands:
        printed = podman_output(result) if result.context == "podman" else (result.stdout + result.stderr).strip()
        shown.append(command_text(result.context, result.command, printed, result.return_code))
    served = f"{made.image_ref} is served as {made.media_type}" if made.media_type else f"{made.image_ref} is not served"
    return "\n".join([*shown, served])


def podman_text(facts: PodmanFacts) -> str:
    """What the lab's podman is, as `podman info` reports it."""
    mirror = f"from the mirror at {facts.docker_io_mirror}" if facts.docker_io_mirror else "from Docker Hub"
    return (f"podman {facts.version} (it builds with buildah {facts.buildah_version}; no BuildKit, no daemon)\n"
            f"OCI runtime: {facts.runtime}; storage driver: {facts.storage_driver}\n"
            f"docker.io images come {mirror}\n"
            f"storage and configuration under the lab's folders: {'yes' if facts.folders_are_the_labs else 'no'}")
