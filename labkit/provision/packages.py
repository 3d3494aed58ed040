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
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from labkit.errors import LabError
from labkit.results import FetchedPackage
from labkit.settings import Settings
from labkit.system import run
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


@dataclass(frozen=True)
class Archive:
    """A set of Debian packages in one folder of the cache: a private apt state (apt/), the .debs (debs/), what was
    fetched (packages.json), where they are unpacked (root/), and a lock held while any of it changes (several
    sandboxes, and users' `labkit up`, share one cache)."""

    folder: Path
    mirror: str
    architectures: tuple[str, ...]
    what: str  # what the packages are, as messages name them ("Docker", "podman")
    elsewhere: str  # what to do where there is no apt-get
    rerun: str  # how to try again

    @property
    def apt(self) -> Path:
        return self.folder / "apt"

    @property
    def debs(self) -> Path:
        return self.folder / "debs"

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @property
    def record_file(self) -> Path:
        return self.folder / "packages.json"


def engine_archive(settings: Settings) -> Archive:
    """The engine's and the base image's packages: the cache's own folders (settings.apt_dir, debs_dir, root_dir)."""
    return Archive(settings.cache_dir, settings.debian_mirror, tuple(sorted({settings.host_arch, *settings.base_arches})),
                   "Docker", "Run the lab on a Debian or Ubuntu machine, or use your own Docker engine.",
                   "run `labkit up` again")


def read_archive_record(archive: Archive) -> list[FetchedPackage]:
    """The packages recorded by an archive's last fetch (empty when nothing was fetched)."""
    try:
        rows = json.loads(archive.record_file.read_text())
    except (OSError, ValueError):
        return []
    return [FetchedPackage(**row) for row in rows]


def read_record(settings: Settings) -> list[FetchedPackage]:
    """The engine packages recorded by the last fetch (empty when nothing was fetched)."""
    return read_archive_record(engine_archive(settings))


def _record_is_complete(settings: Settings, record: list[FetchedPackage]) -> bool:
    wanted = {(p, settings.host_arch) for p in ENGINE_PACKAGES}
    wanted |= {(BASE_PACKAGE, arch) for arch in settings.base_arches}
    have = {(p.package, p.arch) for p in record}
    if not wanted <= have:
        return False
    return all((settings.debs_dir / p.file).is_file() for p in record)


def _locked(archive: Archive) -> contextlib.AbstractContextManager[None]:
    return exclusive(archive.folder / "lock", f"another labkit is fetching or unpacking into {archive.folder}; "
                     "waiting for it to finish")


def _run_apt(archive: Archive, args: list[str], cwd: Path) -> None:
    if shutil.which("apt-get") is None:
        raise LabError(f"apt-get is not on this machine, so the lab cannot fetch {archive.what} from Debian's archive.",
                       archive.elsewhere)
    apt = archive.apt
    options = [
        "-o", f"Dir::Etc::sourcelist={apt / 'sources.list'}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::State::status={apt / 'status'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", f"APT::Architectures={','.join(archive.architectures)}",
        "-o", "Acquire::Languages=none",
        "-o", "APT::Sandbox::User=root",
    ]
    run.check(["apt-get", *options, *args], f"apt-get {args[0]} for {archive.what}",
              f"Check that {archive.mirror} is reachable (or set LABKIT_DEBIAN_MIRROR), then {archive.rerun}.",
              cwd=cwd, progress=True)


def _fields(deb: Path) -> dict[str, str]:
    text = run.check(["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture"], f"Reading {deb.name}",
                     f"Remove {deb} so that it is downloaded again, then run `labkit up` again.").stdout
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def fetch_archive(archive: Archive, complete: Callable[[list[FetchedPackage]], bool], sources: str,
                  targets: list[str], suite_of: Callable[[str], str], announce: str) -> list[FetchedPackage]:
    """Download an archive's packages (`package:arch/suite` targets, apt's progress on stderr) unless its record is
    complete, and record them; cached runs download nothing."""
    record = read_archive_record(archive)
    if complete(record):
        return record
    with _locked(archive):
        record = read_archive_record(archive)  # again, under the lock: another labkit may have fetched it meanwhile
        if complete(record):
            return record
        for sub in ("lists/partial", "cache/archives/partial"):
            (archive.apt / sub).mkdir(parents=True, exist_ok=True)
        (archive.apt / "status").touch()
        (archive.apt / "sources.list").write_text(sources)
        print(f"labkit: {announce}", file=sys.stderr, flush=True)
        _run_apt(archive, ["update"], archive.apt)
        download = archive.debs / ".download"
        shutil.rmtree(download, ignore_errors=True)
        download.mkdir(parents=True)
        _run_apt(archive, ["download", *targets], download)
        record = []
        for deb in sorted(download.glob("*.deb")):
            info = _fields(deb)
            target = archive.debs / deb.name
            os.replace(deb, target)
            record.append(FetchedPackage(info["Package"], info["Version"], info["Architecture"], suite_of(info["Package"]),
                                         deb.name, sha256_file(target)))
        download.rmdir()
        archive.record_file.write_text(json.dumps([asdict(p) for p in record], indent=1) + "\n")
        return record


def unpack_archive(archive: Archive, packages: list[FetchedPackage], then: Callable[[], None] = lambda: None) -> Path:
    """Unpack packages into the archive's root/ (once per set of packages), then `then`; returns root/."""
    stamp = archive.root / ".unpacked"
    wanted = "\n".join(sorted(p.sha256 for p in packages))
    if stamp.is_file() and stamp.read_text() == wanted:
        return archive.root
    with _locked(archive):
        if stamp.is_file() and stamp.read_text() == wanted:
            return archive.root
        shutil.rmtree(archive.root, ignore_errors=True)
        archive.root.mkdir(parents=True)
        for package in packages:
            deb = archive.debs / package.file
            run.check(["dpkg-deb", "-x", str(deb), str(archive.root)], f"Unpacking {deb.name}",
                      f"Try again; if it fails the same way, remove {archive.debs} so that the packages are "
                      "downloaded again.")
        then()
        stamp.write_text(wanted)
    return archive.root


def fetch(settings: Settings) -> list[FetchedPackage]:
    """Download the engine's and busybox's packages (with apt's progress on stderr) and record them; cached runs
    download nothing."""
    base_arches = ",".join(settings.base_arches)
    return fetch_archive(
        engine_archive(settings), lambda record: _record_is_complete(settings, record),
        f"deb [arch={settings.host_arch}] {settings.debian_mirror} {settings.engine_suite} main\n"
        f"deb [arch={base_arches}] {settings.debian_mirror} {settings.base_suite} main\n",
        [f"{p}:{settings.host_arch}/{settings.engine_suite}" for p in ENGINE_PACKAGES]
        + [f"{BASE_PACKAGE}:{arch}/{settings.base_suite}" for arch in settings.base_arches],
        lambda package: settings.base_suite if package == BASE_PACKAGE else settings.engine_suite,
        f"fetching Docker {settings.engine_suite} and busybox-static packages from {settings.debian_mirror}")


def unpack(settings: Settings, record: list[FetchedPackage]) -> None:
    """Unpack the engine packages into root_dir and link their programs into bin_dir."""
    def link_programs() -> None:
        settings.bin_dir.mkdir(parents=True, exist_ok=True)
        for name, relative in PROGRAMS.items():
            link = settings.bin_dir / name
            link.unlink(missing_ok=True)
            link.symlink_to(settings.root_dir / relative)

    unpack_archive(engine_archive(settings), [p for p in record if p.package != BASE_PACKAGE], link_programs)


def busybox_deb(settings: Settings, record: list[FetchedPackage], arch: str) -> FetchedPackage:
    """The busybox-static package recorded for one Debian architecture."""
    for package in record:
        if package.package == BASE_PACKAGE and package.arch == arch:
            return package
    raise LabError(f"No busybox-static package was fetched for {arch}.", "Run `labkit fetch` again.")


def buildx_plugin(settings: Settings) -> Path:
    """Path of the unpacked buildx CLI plugin."""
    return settings.root_dir / BUILDX_PLUGIN
