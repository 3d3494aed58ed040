"""What a tag holds in the lab's registry, as the practice checkers need it: one image or an index, and which
image (platform, digest) each entry is."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass

from labkit.oci import media
from labkit.oci.index import is_attestation, platform_name
from labkit.oci.registry import Registry
from labkit.system.binfmt import elf_architecture

INDEX_TYPES = (media.INDEX, media.DOCKER_LIST)


@dataclass(frozen=True)
class Image:
    """One image: its manifest's digest, the platform its descriptor (or config) gives, and its config's platform."""

    platform: str
    digest: str
    config_platform: str


@dataclass(frozen=True)
class Pushed:
    """A tag's content: its media type and digest, its images, and how many attestation entries its index has."""

    reference: str
    media_type: str
    digest: str
    images: tuple[Image, ...]
    attestations: int

    @property
    def is_index(self) -> bool:
        """True for an OCI image index or a Docker manifest list."""
        return self.media_type in INDEX_TYPES

    def platforms(self) -> list[str]:
        """The images' platforms, in order."""
        return [image.platform for image in self.images]


def _config_platform(registry: Registry, repository: str, manifest: dict[str, object]) -> str:
    config = manifest.get("config")
    if not isinstance(config, dict) or "digest" not in config:
        return "unknown/unknown"
    document = json.loads(registry.get_blob(repository, str(config["digest"])))
    return platform_name({key: str(document[key]) for key in ("os", "architecture", "variant") if document.get(key)})


def read(registry: Registry, repository: str, tag: str) -> Pushed | None:
    """What REPOSITORY:TAG holds; None when the tag is not there."""
    served = registry.get_manifest(repository, tag)
    if served is None:
        return None
    reference = f"{registry.address}/{repository}:{tag}"
    document = served.json()
    if served.media_type not in INDEX_TYPES:
        platform = _config_platform(registry, repository, document)
        return Pushed(reference, served.media_type, served.digest, (Image(platform, served.digest, platform),), 0)
    images, attestations = [], 0
    for entry in document.get("manifests", []):
        if is_attestation(entry):
            attestations += 1
            continue
        manifest = registry.get_manifest(repository, entry["digest"])
        config = _config_platform(registry, repository, manifest.json()) if manifest is not None else "missing"
        images.append(Image(platform_name(entry.get("platform")), entry["digest"], config))
    return Pushed(reference, served.media_type, served.digest, tuple(images), attestations)


def forget(registry: Registry, repository: str, tag: str) -> None:
    """Delete what REPOSITORY:TAG points at, so that a check sees only what the next answer pushes."""
    served = registry.get_manifest(repository, tag)
    if served is not None:
        registry.delete_manifest(repository, served.digest)



def programs(registry: Registry, repository: str, image: Image) -> dict[str, str]:
    """Every ELF program in an image's layers, and the architecture its machine code is for (path -> `amd64`, …):
    what the image would run, whatever its descriptor and config say."""
    served = registry.get_manifest(repository, image.digest)
    found: dict[str, str] = {}
    for layer in (served.json().get("layers", []) if served is not None else []):
        blob = registry.get_blob(repository, str(layer["digest"]))
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as archive:
            for member in archive:
                if member.isreg() and member.size >= 20:
                    handle = archive.extractfile(member)
                    architecture = elf_architecture(handle.read(20)) if handle is not None else ""
                    if architecture:
                        found["/" + member.name.removeprefix("./")] = architecture
    return found
