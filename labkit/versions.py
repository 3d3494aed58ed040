"""Which version of what the lab's claims depend on, read from the projects' own sources.

A claim about Docker, buildx or BuildKit holds for some versions only. This module keeps the facts the notebooks
phrase by version, each with where it was read, so a learner on another engine can tell which holds for theirs.
"""

from __future__ import annotations

# BuildKit vendored by each Docker Engine release (moby/moby `vendor.mod` up to v28.x, root `go.mod` on the
# `docker-v29.*` tags). Debian builds the engine in GOPATH mode, so its dockerd reports BuildKit as
# `v0.0.0+unknown` (BuildKit's `version.defaultVersion`; moby fills it from Go build info since v25.0.0).
ENGINE_BUILDKIT: dict[str, str] = {
    "28.5": "v0.25.2",
    "29.0": "v0.25.2",
    "29.1": "v0.26",
    "29.2": "v0.27",
    "29.3": "v0.28",
    "29.4": "v0.29.0",
    "29.5": "v0.30.0",
    "29.6": "v0.31",
    "29.7": "v0.32",
}
ENGINE_BUILDKIT_SOURCE = "moby/moby vendor.mod (v28.x tags) or go.mod (docker-v29.* tags), `github.com/moby/buildkit` line"
UNKNOWN_BUILDKIT = "v0.0.0+unknown"


def vendored_buildkit(engine_version: str) -> str:
    """The BuildKit an engine release vendors ('' when this table does not know that release)."""
    major_minor = ".".join(engine_version.split("+")[0].split(".")[:2])
    return ENGINE_BUILDKIT.get(major_minor, "")


def buildkit_minor(version: str) -> tuple[int, int] | None:
    """(0, 31) for `v0.31.2`; None for an unknown version."""
    parts = version.lstrip("v").split(".")
    if version == UNKNOWN_BUILDKIT or len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def oci_by_default(buildkit: str) -> bool | None:
    """Does an image export without attestations get OCI media types by default? None when the version is unknown.

    Up to v0.30 the image exporter writes Docker media types unless attestations or annotations force OCI
    (moby/buildkit v0.25.2 exporter/containerimage/writer.go); from v0.31 it defaults to OCI at the default
    compatibility version 30 (v0.31.0 exporter/containerimage/export.go `DefaultOCITypes`; docs/build-repro.md).
    """
    minor = buildkit_minor(buildkit)
    return None if minor is None else minor >= (0, 31)
