"""A `registry:2` for the sandbox's mirror, built from Debian's docker-registry (the same CNCF distribution).

Host mode runs the local registry as a `registry:2` container. On a machine
with internet that image comes from Docker Hub; in the sandbox (which stands in
for a learner's engine in the tests, offline) the local registry serves this
one as `library/registry:2`: busybox, the registry binary and the C library it
links against, with the same entrypoint, config path and port as the real image.
"""

from __future__ import annotations

import re
from pathlib import Path

from labkit.oci import image
from labkit.oci.image import Image, TarEntry
from labkit.oci.registry import Registry
from labkit.provision import base_image
from labkit.results import FetchedPackage
from labkit.settings import Settings
from labkit.system import run

REPOSITORY = "library/registry"
TAG = "2"
CONFIG = b"""version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
"""


def _libraries(binary: Path) -> list[Path]:
    """The shared libraries and loader a dynamically linked binary needs (from `ldd`)."""
    text = run.check(["ldd", str(binary)], f"Reading the libraries {binary.name} needs",
                     "Check that ldd (libc-bin) is installed, then run `labkit up` again.").stdout
    return [Path(path) for path in re.findall(r"(/\S+) \(0x", text)]


def _directories(paths: list[str]) -> list[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        found |= {"/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return sorted(found)


def build(settings: Settings, record: list[FetchedPackage]) -> Image:
    """Busybox plus the registry, for this machine's platform."""
    binary = (settings.bin_dir / "docker-registry").resolve()
    files = {"bin/registry": (binary.read_bytes(), 0o755), "etc/docker/registry/config.yml": (CONFIG, 0o644)}
    for library in _libraries(binary):
        files[str(library).lstrip("/")] = (library.resolve().read_bytes(), 0o755)
    entries = [TarEntry(f"{d}/", 0o755) for d in _directories([*files, "var/lib/registry/x"]) if d != "bin"]
    entries += [TarEntry(name, mode, data) for name, (data, mode) in sorted(files.items())]
    platform = base_image.platform_of(settings.host_arch)
    blobs, manifest = image.platform_image(
        platform, [base_image.host_layer(settings, record), image.layer(entries)],
        {"Entrypoint": ["/bin/registry"], "Cmd": ["serve", "/etc/docker/registry/config.yml"],
         "Env": [image.PATH_ENV], "ExposedPorts": {"5000/tcp": {}}},
        "docker-registry from Debian, as a stand-in for registry:2")
    return image.index_of([(platform, manifest)], blobs)


def ensure_pushed(settings: Settings, registry: Registry, record: list[FetchedPackage]) -> str:
    """Make sure `registry:2` is in the sandbox's registry."""
    inputs = ",".join(sorted(p.sha256 for p in record if p.package == "docker-registry"))
    return image.ensure_pushed(registry, REPOSITORY, TAG, settings.cache_dir / "registry-image.digest", inputs,
                               lambda: build(settings, record))
