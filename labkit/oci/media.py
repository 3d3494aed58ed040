"""OCI media types and content digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT_ALL = ", ".join([INDEX, MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])


def digest_of(data: bytes) -> str:
    """The content digest (`sha256:…`) of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Stable JSON bytes (sorted keys, no spaces): same content, same digest."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """An OCI descriptor pointing at some bytes."""
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **extra}
