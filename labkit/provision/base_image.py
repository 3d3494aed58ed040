"""The `busybox` base image, built reproducibly from Debian's busybox-static packages.

Each platform gets one uncompressed layer (`/bin/busybox` plus one symlink per
applet, fixed owner and mtime), a config and a manifest; an OCI index ties
them together. Same packages in, same digests out. The index is pushed to the
local registry as `library/busybox:latest`, which both daemons use as their
docker.io mirror, so an unchanged `FROM busybox` resolves with no internet.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from labkit.experiment import BASE_REPOSITORY, BASE_TAG
from labkit.oci import image
from labkit.oci.image import Blob, Image, TarEntry
from labkit.oci.registry import Registry
from labkit.provision.packages import busybox_deb
from labkit.results import FetchedPackage
from labkit.settings import DEBIAN_PLATFORMS, Settings
from labkit.system import run


def _busybox_binary(deb: Path) -> bytes:
    tar_bytes = run.output_bytes(["dpkg-deb", "--fsys-tarfile", str(deb)], f"Reading {deb.name}",
                                 f"Remove {deb} so that it is downloaded again, then run `labkit up` again.")
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
        names = run.check([str(path), "--list"], "Listing busybox's applets",
                          "Run `labkit up` again; if it fails the same way, remove the lab's package cache.").stdout.split()
    return sorted(set(names) - {"busybox"})


def rootfs_entries(binary: bytes, applets: list[str]) -> list[TarEntry]:
    """/bin/busybox, one symlink per applet, /etc/passwd and /etc/group, /root and /tmp."""
    passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
    group = b"root:x:0:\nnogroup:x:65534:\n"
    entries = [TarEntry(f"{name}/", mode) for name, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777))]
    entries.append(TarEntry("bin/busybox", 0o755, binary))
    entries += [TarEntry(f"bin/{applet}", 0o777, target="busybox") for applet in applets if applet != "busybox"]
    entries += [TarEntry("etc/group", 0o644, group), TarEntry("etc/passwd", 0o644, passwd)]
    return entries


def layer_tar(binary: bytes, applets: list[str]) -> bytes:
    """A reproducible root filesystem for one platform."""
    return image.layer(rootfs_entries(binary, applets)).data


def platform_of(arch: str) -> dict[str, str]:
    """The OCI platform of a Debian architecture (arm64 carries its variant, v8, as on Docker Hub)."""
    os_name, architecture, *variant = DEBIAN_PLATFORMS[arch].split("/")
    if arch == "arm64":
        variant = ["v8"]
    value = {"architecture": architecture, "os": os_name}
    if variant:
        value["variant"] = variant[0]
    return value


def host_layer(settings: Settings, record: list[FetchedPackage]) -> Blob:
    """The busybox layer of this machine's architecture (a base for the lab's other images)."""
    return _layer(settings, record, settings.host_arch, _host_applets(settings, record))


def _host_applets(settings: Settings, record: list[FetchedPackage]) -> list[str]:
    """Applet names, asked of this machine's binary (every architecture's package has the same ones)."""
    return _applets(_busybox_binary(settings.debs_dir / busybox_deb(settings, record, settings.host_arch).file))


def _layer(settings: Settings, record: list[FetchedPackage], arch: str, applets: list[str]) -> Blob:
    return image.layer(rootfs_entries(_busybox_binary(settings.debs_dir / busybox_deb(settings, record, arch).file), applets))


def build(settings: Settings, record: list[FetchedPackage]) -> Image:
    """Build every platform's manifest and the index, in memory."""
    applets = _host_applets(settings, record)
    blobs: list[Blob] = []
    manifests = []
    for arch in settings.base_arches:
        package = busybox_deb(settings, record, arch)
        layer = _layer(settings, record, arch, applets)
        platform = platform_of(arch)
        platform_blobs, manifest = image.platform_image(
            platform, [layer], {"Cmd": ["sh"], "Env": [image.PATH_ENV]},
            f"{package.package} {package.version} ({arch}) from Debian")
        blobs += platform_blobs
        manifests.append((platform, manifest))
    return image.index_of(manifests, blobs)


def ensure_pushed(settings: Settings, registry: Registry, record: list[FetchedPackage]) -> str:
    """Make sure `busybox:latest` is in the registry; build and push it only when it is not."""
    inputs = ",".join(f"{arch}={busybox_deb(settings, record, arch).sha256}" for arch in settings.base_arches)
    return image.ensure_pushed(registry, BASE_REPOSITORY, BASE_TAG, settings.cache_dir / "base-image.digest", inputs,
                               lambda: build(settings, record))
