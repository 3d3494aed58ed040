"""Assembling OCI images in memory (reproducibly) and pushing them to a registry."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.oci import media
from labkit.oci.registry import Registry

EPOCH = "1970-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Blob:
    """Bytes to store, with their media type."""

    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        """Content digest of the bytes."""
        return media.digest_of(self.data)


@dataclass(frozen=True)
class TarEntry:
    """One member of a layer: a directory, a file (with data) or a symlink (with a target)."""

    name: str
    mode: int
    data: bytes | None = None
    target: str = ""


@dataclass(frozen=True)
class Image:
    """Every blob and manifest of an image, and the index that ties them together."""

    blobs: tuple[Blob, ...]
    manifests: tuple[Blob, ...]
    index: Blob


def layer(entries: Sequence[TarEntry]) -> Blob:
    """An uncompressed tar layer with fixed owner and mtime: same entries, same bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = entry.mode, 0, 0, 0, "", ""
            if entry.target:
                info.type, info.linkname = tarfile.SYMTYPE, entry.target
                archive.addfile(info)
            elif entry.data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
    return Blob(media.LAYER_TAR, out.getvalue())


def platform_image(platform: dict[str, str], layers: Sequence[Blob], config: dict[str, Any],
                   history: str) -> tuple[list[Blob], Blob]:
    """The config blob and the manifest of one platform's image."""
    config_blob = Blob(media.CONFIG, media.canonical_json({
        **platform,
        "created": EPOCH,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [blob.digest for blob in layers]},
        "history": [{"created": EPOCH, "created_by": history}],
    }))
    manifest = Blob(media.MANIFEST, media.canonical_json({
        "schemaVersion": 2,
        "mediaType": media.MANIFEST,
        "config": media.descriptor(config_blob.media_type, config_blob.data),
        "layers": [media.descriptor(blob.media_type, blob.data) for blob in layers],
    }))
    return [*layers, config_blob], manifest


def index_of(platform_manifests: Sequence[tuple[dict[str, str], Blob]], blobs: Sequence[Blob]) -> Image:
    """An OCI index over per-platform manifests."""
    entries = [media.descriptor(manifest.media_type, manifest.data, platform=platform)
               for platform, manifest in platform_manifests]
    index = Blob(media.INDEX, media.canonical_json({"schemaVersion": 2, "mediaType": media.INDEX, "manifests": entries}))
    return Image(tuple(blobs), tuple(manifest for _, manifest in platform_manifests), index)


def push(registry: Registry, repository: str, tag: str, image: Image) -> str:
    """Push blobs, manifests and the index (tagged); returns the index digest."""
    for blob in image.blobs:
        registry.push_blob(repository, blob.data)
    for manifest in image.manifests:
        registry.put_manifest(repository, manifest.digest, manifest.media_type, manifest.data)
    return registry.put_manifest(repository, tag, image.index.media_type, image.index.data)


def ensure_pushed(registry: Registry, repository: str, tag: str, stamp_file: Path, inputs: str,
                  build: Callable[[], Image]) -> str:
    """Push the image unless the registry already serves what these inputs built last time."""
    stamp = f"{inputs} -> "
    text = stamp_file.read_text() if stamp_file.is_file() else ""
    known = text[len(stamp):].strip() if text.startswith(stamp) else ""
    served = registry.get_manifest(repository, tag)
    if known and served is not None and served.digest == known:
        return known
    digest = push(registry, repository, tag, build())
    stamp_file.write_text(f"{stamp}{digest}\n")
    return digest
