"""The OCI image index (and Docker's manifest list) as the lab reads it: its model and its one parser.

An index lists manifests by descriptor (media type, digest, size), each with the platform it is for; BuildKit adds an
attestation manifest per image, marked by the annotation `vnd.docker.reference.type: attestation-manifest` and naming
the image it is about in `vnd.docker.reference.digest` (moby/buildkit v0.25.2 `docs/attestations/attestation-storage.md`).
The registry's raw bytes are the one source: the report keeps them, and everything else is parsed from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from labkit.oci import media


@dataclass(frozen=True)
class Descriptor:
    """What an index or manifest says of the content it points at: media type, digest and size."""

    media_type: str
    digest: str
    size: int


EntryKind = Literal["image", "attestation"]


@dataclass(frozen=True)
class IndexEntry:
    """One manifest listed in the index, with the config and layers it points at."""

    platform: str
    kind: EntryKind
    manifest: Descriptor
    describes: str  # for an attestation: the digest of the image manifest it is about
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True)
class IndexReport:
    """The index under a tag, as the registry's raw bytes and as parsed entries."""

    image_ref: str
    media_type: str
    served_digest: str
    raw: bytes
    entries: tuple[IndexEntry, ...]

    @property
    def computed_digest(self) -> str:
        """sha256 of the raw bytes: equal to served_digest, since content addresses are hashes."""
        return media.digest_of(self.raw)

    @property
    def document(self) -> dict[str, Any]:
        """The index, parsed."""
        value: dict[str, Any] = json.loads(self.raw)
        return value

    def platforms(self, kind: EntryKind = "image") -> list[str]:
        """Platforms of the entries of one kind, in index order."""
        return [entry.platform for entry in self.entries if entry.kind == kind]

    def platform_of(self, digest: str) -> str:
        """The platform of the entry with that manifest digest ('' when the index has none)."""
        return next((entry.platform for entry in self.entries if entry.manifest.digest == digest), "")

    @property
    def attestations_describe_images(self) -> bool:
        """True when there is one attestation per image manifest, each naming the manifest it is about."""
        images = {e.manifest.digest for e in self.entries if e.kind == "image"}
        return images != set() and {e.describes for e in self.entries if e.kind == "attestation"} == images


ATTESTATION = "attestation-manifest"
REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"


def platform_name(platform: dict[str, str] | None) -> str:
    """`os/architecture[/variant]`, or `unknown/unknown` when the entry has none."""
    if not platform:
        return "unknown/unknown"
    parts = [platform.get("os", "unknown"), platform.get("architecture", "unknown"), platform.get("variant", "")]
    return "/".join(part for part in parts if part)


def _descriptor(value: dict[str, Any]) -> Descriptor:
    return Descriptor(value["mediaType"], value["digest"], int(value["size"]))


def parse_index(image_ref: str, media_type: str, served_digest: str, raw: bytes,
                manifests: dict[str, dict[str, Any]]) -> IndexReport:
    """Build the report from the raw index and the manifests it lists (by digest)."""
    entries = []
    for item in json.loads(raw).get("manifests", []):
        annotations = item.get("annotations") or {}
        kind: EntryKind = "attestation" if is_attestation(item) else "image"
        manifest = manifests.get(item["digest"], {})
        entries.append(IndexEntry(
            platform=platform_name(item.get("platform")),
            kind=kind,
            manifest=_descriptor(item),
            describes=annotations.get(REFERENCE_DIGEST, ""),
            config=_descriptor(manifest["config"]) if "config" in manifest else Descriptor("", "", 0),
            layers=tuple(_descriptor(layer) for layer in manifest.get("layers", [])),
        ))
    return IndexReport(image_ref, media_type, served_digest, raw, tuple(entries))


def is_attestation(item: dict[str, Any]) -> bool:
    """True for an index entry that is an attestation manifest, not an image."""
    return (item.get("annotations") or {}).get(REFERENCE_TYPE) == ATTESTATION
