"""The `busybox` base image, built reproducibly from Debian's busybox-static packages.

Each platform gets one uncompressed layer (`/bin/busybox` plus one symlink per
applet, fixed owner and mtime), a config and a manifest; an OCI index ties
them together. Same packages in, same digests out. The index is pushed to the
local registry as `library/busybox:latest`, which both daemons use as their
docker.io mirror, so an unchanged `FROM busybox` resolves with no internet.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.provision.packages import FetchedPackage, busybox_deb
from labkit.settings import DEBIAN_PLATFORMS, Settings

REPOSITORY = "library/busybox"
TAG = "latest"
_EPOCH = "1970-01-01T00:00:00Z"
_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


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
class BaseImage:
    """Every blob and manifest of the base image, and its index."""

    blobs: tuple[Blob, ...]
    manifests: tuple[Blob, ...]
    index: Blob


def _busybox_binary(deb: Path) -> bytes:
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        for member in archive.getmembers():
            if member.name.lstrip("./") in ("bin/busybox", "usr/bin/busybox"):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    return extracted.read()
    raise FileNotFoundError(f"no busybox binary in {deb.name}")


def _applets(binary: bytes) -> list[str]:
    """Applet names, asked of the host architecture's binary (all architectures share one config)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "busybox"  # busybox picks the applet from its own name
        path.write_bytes(binary)
        path.chmod(0o755)
        names = subprocess.run([str(path), "--list"], check=True, capture_output=True, text=True).stdout.split()
    return sorted(set(names) - {"busybox"})


def _entry(name: str, kind: bytes, mode: int, size: int = 0, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, target
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def layer_tar(binary: bytes, applets: list[str]) -> bytes:
    """A reproducible root filesystem: /bin/busybox, applet links, /etc/passwd, /tmp."""
    passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
    group = b"root:x:0:\nnogroup:x:65534:\n"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            archive.addfile(_entry(directory + "/", tarfile.DIRTYPE, mode))
        archive.addfile(_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for applet in applets:
            archive.addfile(_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, target="busybox"))
        for name, data in (("etc/group", group), ("etc/passwd", passwd)):
            archive.addfile(_entry(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return out.getvalue()


def _platform(arch: str) -> dict[str, str]:
    os_name, architecture, *variant = DEBIAN_PLATFORMS[arch].split("/")
    if arch == "arm64":
        variant = ["v8"]
    value = {"architecture": architecture, "os": os_name}
    if variant:
        value["variant"] = variant[0]
    return value


def build(settings: Settings, record: list[FetchedPackage]) -> BaseImage:
    """Build every platform's manifest and the index, in memory."""
    host_binary = _busybox_binary(settings.debs_dir / busybox_deb(settings, record, settings.host_arch).file)
    applets = _applets(host_binary)
    blobs: list[Blob] = []
    manifests: list[Blob] = []
    entries = []
    for arch in settings.base_arches:
        package = busybox_deb(settings, record, arch)
        layer = Blob(media.LAYER_TAR, layer_tar(_busybox_binary(settings.debs_dir / package.file), applets))
        platform = _platform(arch)
        config = Blob(media.CONFIG, media.canonical_json({
            **platform,
            "created": _EPOCH,
            "config": {"Cmd": ["sh"], "Env": _ENV},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
            "history": [{"created": _EPOCH, "created_by": f"{package.package} {package.version} ({arch}) from Debian"}],
        }))
        manifest = Blob(media.MANIFEST, media.canonical_json({
            "schemaVersion": 2,
            "mediaType": media.MANIFEST,
            "config": media.descriptor(config.media_type, config.data),
            "layers": [media.descriptor(layer.media_type, layer.data)],
        }))
        blobs += [layer, config]
        manifests.append(manifest)
        entries.append(media.descriptor(manifest.media_type, manifest.data, platform=platform))
    index = Blob(media.INDEX, media.canonical_json({"schemaVersion": 2, "mediaType": media.INDEX, "manifests": entries}))
    return BaseImage(tuple(blobs), tuple(manifests), index)


def index_digest_file(settings: Settings) -> Path:
    """Where the digest of the last built index is kept, to skip rebuilding it."""
    return settings.cache_dir / "base-image.digest"


def push(registry: Registry, image: BaseImage) -> str:
    """Push blobs, manifests and the index (tagged `latest`); returns the index digest."""
    for blob in image.blobs:
        registry.push_blob(REPOSITORY, blob.data)
    for manifest in image.manifests:
        registry.put_manifest(REPOSITORY, manifest.digest, manifest.media_type, manifest.data)
    return registry.put_manifest(REPOSITORY, TAG, image.index.media_type, image.index.data)


def ensure_pushed(settings: Settings, registry: Registry, record: list[FetchedPackage]) -> str:
    """Make sure `busybox:latest` is in the registry; build and push it only when it is not."""
    digest_file = index_digest_file(settings)
    inputs = ",".join(f"{arch}={busybox_deb(settings, record, arch).sha256}" for arch in settings.base_arches)
    stamp = f"{inputs} -> "
    text = digest_file.read_text() if digest_file.is_file() else ""
    known = text[len(stamp):].strip() if text.startswith(stamp) else ""
    served = registry.get_manifest(REPOSITORY, TAG)
    if known and served is not None and served.digest == known:
        return known
    digest = push(registry, build(settings, record))
    digest_file.write_text(f"{stamp}{digest}\n")
    return digest
