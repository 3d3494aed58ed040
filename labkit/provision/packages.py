"""Fetch the engine and the busybox packages from Debian's archive into the lab's cache.

apt runs with a private sources file, lists folder and status file, so the
system's apt configuration is never read or changed; packages are unpacked
with `dpkg-deb -x` into a folder the lab owns, never installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from labkit.errors import LabError
from labkit.results import FetchedPackage
from labkit.settings import Settings
from labkit.system.files import exclusive

ENGINE_PACKAGES = ("docker.io", "docker-cli", "docker-buildx", "containerd", "docker-registry")
BASE_PACKAGE = "busybox-static"

# Program name in bin_dir -> path inside the unpacked packages.
PROGRAMS = {
    "docker": "usr/bin/docker",
    "dockerd": "usr/sbin/dockerd",
    "docker-proxy": "usr/sbin/docker-proxy",
    "containerd": "usr/bin/containerd",
    "containerd-shim-runc-v2": "usr/bin/containerd-shim-runc-v2",
    "ctr": "usr/bin/ctr",
    "docker-registry": "usr/bin/docker-registry",
}
BUILDX_PLUGIN = "usr/libexec/docker/cli-plugins/docker-buildx"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_record(settings: Settings) -> list[FetchedPackage]:
    """The packages recorded by the last fetch (empty when nothing was fetched)."""
    try:
        rows = json.loads(settings.record_file.read_text())
    except (OSError, ValueError):
        return []
    return [FetchedPackage(**row) for row in rows]


def _record_is_complete(settings: Settings, record: list[FetchedPackage]) -> bool:
    wanted = {(p, settings.host_arch) for p in ENGINE_PACKAGES}
    wanted |= {(BASE_PACKAGE, arch) for arch in settings.base_arches}
    have = {(p.package, p.arch) for p in record}
    if not wanted <= have:
        return False
    return all((settings.debs_dir / p.file).is_file() for p in record)


def _apt_options(settings: Settings) -> list[str]:
    apt = settings.apt_dir
    arches = sorted({settings.host_arch, *settings.base_arches})
    return [
        "-o", f"Dir::Etc::sourcelist={apt / 'sources.list'}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::State::status={apt / 'status'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", f"APT::Architectures={','.join(arches)}",
        "-o", "Acquire::Languages=none",
        "-o", "APT::Sandbox::User=root",
    ]


def _write_sources(settings: Settings) -> None:
    apt = settings.apt_dir
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    (apt / "status").touch()
    base_arches = ",".join(settings.base_arches)
    (apt / "sources.list").write_text(
        f"deb [arch={settings.host_arch}] {settings.debian_mirror} {settings.engine_suite} main\n"
        f"deb [arch={base_arches}] {settings.debian_mirror} {settings.base_suite} main\n"
    )


def _run_apt(settings: Settings, args: list[str], cwd: Path) -> None:
    if shutil.which("apt-get") is None:
        raise LabError(
            "apt-get is not on this machine, so the sandbox cannot fetch Docker from Debian's archive.",
            "Run the lab on a Debian or Ubuntu machine, or use your own Docker engine.",
        )
    command = ["apt-get", *_apt_options(settings), *args]
    result = subprocess.run(command, cwd=cwd, stdout=2, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise LabError(
            f"apt-get {args[0]} failed: {result.stderr.strip()[-400:]}",
            f"Check that {settings.debian_mirror} is reachable (or set LABKIT_DEBIAN_MIRROR), then run `labkit up` again.",
        )


def _fields(deb: Path) -> dict[str, str]:
    text = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture"],
        check=True, capture_output=True, text=True,
    ).stdout
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def _cache_locked(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """Held while the shared package cache changes: several sandboxes (and users' `labkit up`) share one cache."""
    return exclusive(settings.cache_dir / "lock", f"another labkit is fetching or unpacking into {settings.cache_dir}; "
                     "waiting for it to finish")


def fetch(settings: Settings) -> list[FetchedPackage]:
    """Download what is missing (with apt's progress on stderr) and record it; cached runs download nothing."""
    record = read_record(settings)
    if _record_is_complete(settings, record):
        return record
    with _cache_locked(settings):
        return _fetch(settings)


def _fetch(settings: Settings) -> list[FetchedPackage]:
    record = read_record(settings)  # again, under the lock: another labkit may have fetched it meanwhile
    if _record_is_complete(settings, record):
        return record
    _write_sources(settings)
    print(f"labkit: fetching Docker {settings.engine_suite} and busybox-static packages from {settings.debian_mirror}", file=sys.stderr)
    _run_apt(settings, ["update"], settings.apt_dir)
    targets = [f"{p}:{settings.host_arch}/{settings.engine_suite}" for p in ENGINE_PACKAGES]
    targets += [f"{BASE_PACKAGE}:{arch}/{settings.base_suite}" for arch in settings.base_arches]
    download = settings.debs_dir / ".download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    _run_apt(settings, ["download", *targets], download)
    record = []
    for deb in sorted(download.glob("*.deb")):
        info = _fields(deb)
        suite = settings.base_suite if info["Package"] == BASE_PACKAGE else settings.engine_suite
        target = settings.debs_dir / deb.name
        os.replace(deb, target)
        record.append(FetchedPackage(info["Package"], info["Version"], info["Architecture"], suite, deb.name, sha256_file(target)))
    download.rmdir()
    settings.record_file.write_text(json.dumps([asdict(p) for p in record], indent=1) + "\n")
    return record


def unpack(settings: Settings, record: list[FetchedPackage]) -> None:
    """Unpack the engine packages into root_dir and link their programs into bin_dir."""
    stamp = settings.root_dir / ".unpacked"
    wanted = "\n".join(sorted(p.sha256 for p in record if p.package != BASE_PACKAGE))
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    with _cache_locked(settings):
        if not (stamp.is_file() and stamp.read_text() == wanted):
            _unpack(settings, record, stamp, wanted)


def _unpack(settings: Settings, record: list[FetchedPackage], stamp: Path, wanted: str) -> None:
    shutil.rmtree(settings.root_dir, ignore_errors=True)
    settings.root_dir.mkdir(parents=True)
    for package in record:
        if package.package != BASE_PACKAGE:
            deb = settings.debs_dir / package.file
            result = subprocess.run(["dpkg-deb", "-x", str(deb), str(settings.root_dir)], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise LabError(f"Unpacking {deb.name} failed: {result.stderr.strip()[-300:]}",
                               f"Run `labkit up` again; if it fails the same way, remove {settings.debs_dir} so that the "
                               "packages are downloaded again.")
    settings.bin_dir.mkdir(parents=True, exist_ok=True)
    for name, relative in PROGRAMS.items():
        link = settings.bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to(settings.root_dir / relative)
    stamp.write_text(wanted)


def busybox_deb(settings: Settings, record: list[FetchedPackage], arch: str) -> FetchedPackage:
    """The busybox-static package recorded for one Debian architecture."""
    for package in record:
        if package.package == BASE_PACKAGE and package.arch == arch:
            return package
    raise LabError(f"No busybox-static package was fetched for {arch}.", "Run `labkit fetch` again.")


def buildx_plugin(settings: Settings) -> Path:
    """Path of the unpacked buildx CLI plugin."""
    return settings.root_dir / BUILDX_PLUGIN
