"""A small client for the distribution registry's HTTP API (plain HTTP, loopback)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabError
from labkit.oci.media import ACCEPT_ALL, digest_of
from labkit.settings import RegistryAddress


@dataclass(frozen=True)
class RawManifest:
    """A manifest or index exactly as the registry serves it."""

    media_type: str
    digest: str
    data: bytes

    def json(self) -> dict[str, Any]:
        """The parsed document."""
        value: dict[str, Any] = json.loads(self.data)
        return value


class Registry:
    """Talks to one registry at `host:port` over plain HTTP."""

    def __init__(self, address: RegistryAddress, timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout

    def _request(self, method: str, path: str, data: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else f"http://{self.address}{path}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except (urllib.error.URLError, OSError) as error:
            raise LabError(
                f"The registry at {self.address} does not answer ({error}).",
                "Start the sandbox with `labkit up`, or check the registry address.",
            ) from None

    def ping(self) -> bool:
        """True when the registry answers its /v2/ endpoint."""
        try:
            status, _, _ = self._request("GET", "/v2/")
        except LabError:
            return False
        return status == 200

    def has_blob(self, repository: str, digest: str) -> bool:
        """True when the blob is already stored."""
        return self._request("HEAD", f"/v2/{repository}/blobs/{digest}")[0] == 200

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (skipped when present); returns its digest."""
        digest = digest_of(data)
        if self.has_blob(repository, digest):
            return digest
        status, headers, body = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        if status != 202:
            raise self._refused("start an upload", status, body)
        location = headers.get("Location", "")
        separator = "&" if "?" in location else "?"
        status, _, body = self._request(
            "PUT", f"{location}{separator}digest={digest}", data,
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
        if status != 201:
            raise self._refused("store a blob", status, body)
        return digest

    def put_manifest(self, repository: str, reference: str, media_type: str, data: bytes) -> str:
        """Store a manifest or index under a tag or digest; returns its digest."""
        status, _, body = self._request("PUT", f"/v2/{repository}/manifests/{reference}", data,
                                        {"Content-Type": media_type})
        if status != 201:
            raise self._refused("store a manifest", status, body)
        return digest_of(data)

    def get_manifest(self, repository: str, reference: str) -> RawManifest | None:
        """The manifest or index under a tag or digest, as raw bytes; None when absent."""
        status, headers, body = self._request("GET", f"/v2/{repository}/manifests/{reference}",
                                              headers={"Accept": ACCEPT_ALL})
        if status == 404:
            return None
        if status != 200:
            raise self._refused("read a manifest", status, body)
        return RawManifest(headers.get("Content-Type", ""), headers.get("Docker-Content-Digest", digest_of(body)), body)

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (and with it every tag that points at it)."""
        status, _, body = self._request("DELETE", f"/v2/{repository}/manifests/{digest}")
        if status not in (202, 404):
            raise self._refused("delete a manifest", status, body)

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A blob's bytes."""
        status, _, body = self._request("GET", f"/v2/{repository}/blobs/{digest}")
        if status != 200:
            raise self._refused("read a blob", status, body)
        return body

    def _refused(self, action: str, status: int, body: bytes) -> LabError:
        return LabError(
            f"The registry at {self.address} refused to {action} (HTTP {status}: {body[:200].decode(errors='replace')}).",
            "Check the registry log with `labkit status`, or restart it with `labkit down && labkit up`.",
        )
