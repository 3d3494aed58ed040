"""podman, a second builder that is not BuildKit: fetched from Debian's archive into the lab's cache, configured
under the lab's state, and run through a wrapper that keeps every path it writes in the lab's own folders.

Like the engine's packages, the .debs are fetched with a private apt sources file and lists folder and unpacked
with `dpkg-deb -x`, never installed. Only what podman needs to build and push is taken: podman, conmon, and the
libraries it links that a Debian machine may lack (gpgme, assuan, gpg-error, subid). The OCI runtime is the runc
the sandbox already installs; no network stack is taken (builds and runs use `--network none`).

podman reads `CONTAINERS_CONF`, `CONTAINERS_STORAGE_CONF`, `CONTAINERS_REGISTRIES_CONF`, `REGISTRY_AUTH_FILE` and
`$HOME/.config/containers/policy.json`: all point into the lab's state. Some paths stay hard-coded for root:
containers/image keeps its blob-info cache in /var/lib/containers/cache and its short-name alias cache in
/var/cache/containers, a build leaves a temporary file in /var/tmp, and runc keeps its state in /run/runc. The
wrapper therefore runs podman in a private mount namespace where /var/lib, /var/cache and /var/tmp are folders of
the lab's, and /run is a tmpfs of its own: podman's run root and temporary state live there, and vanish when the
command ends (podman takes that as a reboot: nothing of the lab's runs between its commands).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from labkit.docker.podman import Podman
from labkit.errors import LabError
from labkit.provision import packages
from labkit.results import FetchedPackage
from labkit.settings import SYSTEM_PATH, RegistryAddress, Settings
from labkit.system import run
from labkit.system.files import write_if_changed

# The machine's own libc must be new enough: bookworm's podman 4.3 needs glibc >= 2.34; sid's 5.x needs 2.38.
PODMAN_SUITE = "bookworm"
PODMAN_PACKAGES = ("podman", "conmon", "libgpgme11", "libassuan0", "libgpg-error0", "libsubid4")
LIBRARY_DIRS = {"amd64": "usr/lib/x86_64-linux-gnu", "arm64": "usr/lib/aarch64-linux-gnu"}


def cache_dir(settings: Settings) -> Path:
    """podman's own apt state, .debs, unpacked tree and record, shared by every sandbox on the host."""
    return settings.cache_dir / "podman"


def state_dir(settings: Settings) -> Path:
    """This sandbox's podman: configuration, storage, the wrapper."""
    return settings.service_dir("podman")


def program(settings: Settings) -> Path:
    """The lab's `podman`: a wrapper that runs the unpacked podman with the lab's configuration."""
    return state_dir(settings) / "podman"


def archive(settings: Settings) -> packages.Archive:
    """podman's packages: their own folder of the cache (apt state, .debs, record, unpacked tree)."""
    return packages.Archive(cache_dir(settings), settings.debian_mirror, (settings.host_arch,), "podman",
                            "Run notebook 06 on a Debian or Ubuntu machine (the sandbox).", "rerun")


def fetch(settings: Settings) -> list[FetchedPackage]:
    """Download podman's packages once (saying so on stderr) and record them; cached runs download nothing."""
    podman = archive(settings)

    def complete(record: list[FetchedPackage]) -> bool:
        return {p.package for p in record} == set(PODMAN_PACKAGES) and all((podman.debs / p.file).is_file() for p in record)

    return packages.fetch_archive(
        podman, complete, f"deb [arch={settings.host_arch}] {settings.debian_mirror} {PODMAN_SUITE} main\n",
        [f"{p}:{settings.host_arch}/{PODMAN_SUITE}" for p in PODMAN_PACKAGES], lambda _: PODMAN_SUITE,
        f"fetching podman from Debian {PODMAN_SUITE} ({settings.debian_mirror}): about 20 MB with the package list, once")


def unpack(settings: Settings, record: list[FetchedPackage]) -> Path:
    """Unpack the packages into the cache (once per set of packages); returns the unpacked tree."""
    return packages.unpack_archive(archive(settings), record)


def library_dir(settings: Settings, root: Path) -> Path:
    """Where the unpacked libraries are (the multiarch folder of this machine's architecture)."""
    return root / LIBRARY_DIRS.get(settings.host_arch, f"usr/lib/{settings.host_arch}-linux-gnu")


def missing_libraries(settings: Settings, root: Path) -> list[str]:
    """The shared libraries podman needs that neither the machine nor the unpacked packages have (ldd's view)."""
    env = {**os.environ, "LD_LIBRARY_PATH": str(library_dir(settings, root))}
    found = run.run(["ldd", str(root / "usr/bin/podman")], env=env)
    return sorted(line.split()[0] for line in found.stdout.splitlines() if "not found" in line)


def runc_path() -> Path:
    """The machine's runc (the sandbox installs it for containerd); podman runs containers with it too."""
    found = shutil.which("runc", path=SYSTEM_PATH)
    if found is None:
        raise LabError("runc is not installed, and podman needs an OCI runtime.", "Run `labkit up` (it installs runc).")
    return Path(found)


def podman_env(settings: Settings, root: Path) -> dict[str, str]:
    """The environment the lab's podman runs with: its libraries, and its configuration in the lab's state."""
    state = state_dir(settings)
    return {
        "PATH": SYSTEM_PATH,
        "LD_LIBRARY_PATH": str(library_dir(settings, root)),
        "HOME": str(state / "home"),
        "CONTAINERS_CONF": str(state / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(state / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(state / "registries.conf"),
        "REGISTRY_AUTH_FILE": str(state / "auth.json"),
        "TMPDIR": str(state / "tmp"),
    }


def containers_conf(settings: Settings, root: Path) -> str:
    """containers.conf: cgroupfs, file locks and events, runc, every folder the lab's own.

    conmon gets the same environment as podman (`conmon_env_vars`): when a container exits, conmon runs `podman
    container cleanup`, which needs the lab's libraries and configuration too (without them podman waits 20 s for a
    cleanup that never comes)."""
    state = state_dir(settings)
    conmon_env = ", ".join(f'"{name}={value}"' for name, value in podman_env(settings, root).items())
    return (
        "# The lab's podman (labkit/provision/podman.py): nothing outside the lab's folders.\n"
        "[containers]\n"
        'netns = "none"\n'
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        "[network]\n"
        'network_backend = "cni"\n'
        f'network_config_dir = "{state / "networks"}"\n'
        "[engine]\n"
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        'events_logfile_path = "/run/libpod/events.log"\n'
        'lock_type = "file"\n'
        'tmp_dir = "/run/libpod"\n'
        f'static_dir = "{state / "storage" / "libpod"}"\n'
        f'volume_path = "{state / "storage" / "volumes"}"\n'
        f'image_copy_tmp_dir = "{state / "tmp"}"\n'
        f'conmon_path = ["{root / "usr/bin/conmon"}"]\n'
        f"conmon_env_vars = [{conmon_env}]\n"
        'runtime = "runc"\n'
        "[engine.runtimes]\n"
        f'runc = ["{runc_path()}"]\n'
    )


def storage_conf(settings: Settings) -> str:
    """storage.conf: overlay, graph root under the lab's state, run root in podman's own /run (a tmpfs)."""
    return ("[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{state_dir(settings) / "storage"}"\n'
            'runroot = "/run/containers/storage"\n')


def registries_conf(registry: RegistryAddress, mirror: RegistryAddress | None) -> str:
    """registries.conf: short names resolve on docker.io, served by the lab's mirror; the lab's registry is HTTP."""
    mirrored = (f'[[registry.mirror]]\nlocation = "{mirror}"\ninsecure = true\n' if mirror is not None else "")
    return ('unqualified-search-registries = ["docker.io"]\n'
            '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n'
            f"{mirrored}"
            f'[[registry]]\nlocation = "{registry}"\ninsecure = true\n')


POLICY = '{"default": [{"type": "insecureAcceptAnything"}]}\n'


def wrapper(settings: Settings, root: Path, holder_file: Path | None = None) -> str:
    """The `podman` script: the lab's configuration in its environment; /var/lib, /var/cache and /var/tmp the lab's
    folders and /run a tmpfs, in a mount namespace of its own.

    With a holder_file (the rootless sandbox), podman runs inside the user, mount and network namespaces whose
    holder's pid that file names (RootlessKit's child): there the learner is root, and the registry is on loopback.
    """
    state = state_dir(settings)
    env = podman_env(settings, root)
    exports = "".join(f"export {name}='{value}'\n" for name, value in env.items())
    enter = ""
    if holder_file is not None:
        enter = (f"holder=$(cat '{holder_file}' 2>/dev/null) || {{ echo 'podman: the rootless sandbox is not running "
                 "(labkit up starts it)' >&2; exit 125; }\n"
                 'enter="nsenter --target=$holder --user --mount --net --preserve-credentials --"\n')
    return (
        "#!/bin/sh\n"
        "# The lab's podman: its own configuration and storage (see labkit/provision/podman.py). It runs in a private\n"
        "# mount namespace where /var/lib, /var/cache and /var/tmp are the lab's folders (as root, podman keeps caches and\n"
        "# temporary files there whatever the configuration says) and /run a tmpfs of its own (its run root, and\n"
        "# runc's state: gone when the command ends, as after a reboot).\n"
        f"{exports}{enter}"
        f"exec {'$enter ' if enter else ''}unshare --mount --propagation private -- sh -c "
        "'mount --bind \"$1\" /var/lib && mount --bind \"$2\" /var/cache && mount --bind \"$3\" /var/tmp "
        "&& mount -t tmpfs -o mode=0755 tmpfs /run && shift 3 && exec \"$@\"' "
        f"podman '{state / 'var-lib'}' '{state / 'var-cache'}' '{state / 'tmp'}' '{root / 'usr/bin/podman'}' \"$@\"\n"
    )


def ensure(settings: Settings, registry: RegistryAddress, mirror: RegistryAddress | None,
           holder_file: Path | None = None) -> Podman:
    """podman, fetched, unpacked and configured for this sandbox; each run after the first changes nothing.

    As root it runs as the sandbox's engines do; for a user, inside the rootless sandbox's namespaces (holder_file).
    """
    if os.geteuid() != 0 and holder_file is None:
        raise LabError("The lab's podman runs as root, or inside the rootless sandbox (it mounts its own /var/lib and /run).",
                       "Run the lab's sandbox, or install podman >= 4 yourself and type the commands shown.")
    root = unpack(settings, fetch(settings))
    missing = missing_libraries(settings, root)
    if missing:
        raise LabError(f"podman from Debian {PODMAN_SUITE} needs libraries this machine lacks: {', '.join(missing)}.",
                       "Install the packages that provide them with apt (`apt-file search NAME` names them), then rerun.")
    state = state_dir(settings)
    for folder in (state / "var-lib", state / "var-cache", state / "tmp", state / "networks"):
        folder.mkdir(parents=True, exist_ok=True)
    write_if_changed(state / "containers.conf", containers_conf(settings, root))
    write_if_changed(state / "storage.conf", storage_conf(settings))
    write_if_changed(state / "registries.conf", registries_conf(registry, mirror))
    write_if_changed(state / "home" / ".config" / "containers" / "policy.json", POLICY)
    if not (state / "auth.json").is_file():
        write_if_changed(state / "auth.json", '{"auths": {}}\n')
    if write_if_changed(program(settings), wrapper(settings, root, holder_file)) or not os.access(program(settings), os.X_OK):
        program(settings).chmod(0o755)
    return Podman(program(settings), registry)
