"""An OCI image layout (what `--output type=oci,dest=FILE` writes): its index, its blobs, and the image inside.

The layout's own `index.json` points at the build's image index; every manifest, config and layer is a blob under
`blobs/sha256/`, named by its digest.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabError
from labkit.oci.image import Blob, Image


@dataclass(frozen=True)
class Layout:
    """The blobs of a layout by digest, and the descriptor of the image index it holds."""

    blobs: dict[str, bytes]
    index: dict[str, Any]  # the descriptor `index.json` lists first

    @property
    def index_digest(self) -> str:
        """The digest of the image index: the one a registry serves once it is pushed."""
        return str(self.index["digest"])

    @property
    def index_bytes(self) -> bytes:
        """The image index, byte for byte."""
        return self.blobs[self.index_digest]

    def manifests(self) -> dict[str, dict[str, Any]]:
        """Every manifest the image index lists, parsed, by digest."""
        listed = json.loads(self.index_bytes).get("manifests", [])
        return {item["digest"]: json.loads(self.blobs[item["digest"]]) for item in listed if item["digest"] in self.blobs}

    def image(self) -> Image:
        """The layout as an image to push: its blobs, its manifests, its index."""
        listed = json.loads(self.index_bytes).get("manifests", [])
        manifest_digests = {item["digest"]: item["mediaType"] for item in listed}
        manifests = tuple(Blob(kind, self.blobs[digest]) for digest, kind in manifest_digests.items())
        others = tuple(Blob("application/octet-stream", data) for digest, data in sorted(self.blobs.items())
                       if digest not in manifest_digests and digest != self.index_digest)
        return Image(others, manifests, Blob(str(self.index["mediaType"]), self.index_bytes))


def read(path: Path) -> Layout:
    """Read an OCI layout written as a tar file."""
    blobs: dict[str, bytes] = {}
    top: dict[str, Any] = {}
    try:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is None:
                    continue
                if member.name.startswith("blobs/sha256/"):
                    blobs["sha256:" + member.name.rsplit("/", 1)[1]] = extracted.read()
                elif member.name == "index.json":
                    top = json.loads(extracted.read())
    except (OSError, tarfile.TarError) as error:
        raise LabError(f"{path.name} is not a readable OCI layout ({error}).", "Run the build again.") from None
    if not top.get("manifests"):
        raise LabError(f"{path.name} has no index.json listing an image.", "Run the build again.")
    return Layout(blobs, top["manifests"][0])


def newest_file_time(layer: bytes) -> int:
    """The newest modification time (seconds since the epoch) of the files in a layer, gzip-compressed or not."""
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as archive:
        return int(max((member.mtime for member in archive.getmembers()), default=0))


def file_in_layer(layer: bytes, name: str) -> bytes | None:
    """The bytes of one regular file in a layer (`bin/busybox`), or None when the layer does not hold it."""
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as archive:
        for member in archive.getmembers():
            if member.name.lstrip("./") == name and member.isfile():
                extracted = archive.extractfile(member)
                return extracted.read() if extracted is not None else None
    return None
