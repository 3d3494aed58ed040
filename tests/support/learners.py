"""Learners for the rootless sandbox: users of this machine, made and prepared by the tests and benchmarks (as root),
who then run the lab as themselves with a Python they can run and a cache seeded from the session's own.

A user made here carries the comment `multiarch lab test learner`; a user of the same name without it is never
touched. They are kept for the next run, with their caches.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from labkit.provision import packages
from labkit.settings import SYSTEM_PATH, Settings
from labkit.system.files import chown_tree

REPO = Path(__file__).resolve().parents[2]
COMMENT = "multiarch lab test learner"
SETTINGS = ("import json; from labkit import engines; from labkit.settings import Settings; "
            "s = engines.choose(Settings.from_env()).settings; "
            "print(json.dumps({'name': s.name, 'cache': str(s.cache_dir), 'state': str(s.state_dir), "
            "'run': str(s.run_dir), 'port': s.registry_port, 'mode': s.mode}))")


@dataclass(frozen=True)
class Learner:
    """A user of the machine who runs the lab as themselves, with the Python they can run."""

    name: str
    uid: int
    gid: int
    home: Path
    python: Path
    workdir: Path  # where the notebooks are (the checkout, or a copy the user can read)
    pythonpath: str
    env: tuple[tuple[str, str], ...] = ()  # LABKIT_* variables of their own, if any

    def command(self, argv: list[str]) -> list[str]:
        """argv as this user, with a clean environment as a login would give (no XDG_RUNTIME_DIR: no systemd here)."""
        env = [f"HOME={self.home}", f"USER={self.name}", f"LOGNAME={self.name}", "LANG=C.UTF-8",
               f"PATH={self.python.parent}:{SYSTEM_PATH}"]
        if self.pythonpath:
            env.append(f"PYTHONPATH={self.pythonpath}")
        env += [f"{name}={value}" for name, value in self.env]
        return ["runuser", "-u", self.name, "--", "env", "-i", *env, *argv]

    def run(self, argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run as this user, from the notebooks' folder."""
        return subprocess.run(self.command(argv), cwd=self.workdir, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def labkit(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`labkit ARGS` as this user."""
        return self.run([str(self.python), "-m", "labkit", *args], timeout)

    @cached_property
    def settings(self) -> Settings:
        """The settings this user's labkit uses (their defaults, read as them)."""
        printed = self.run([str(self.python), "-c", SETTINGS])
        assert printed.returncode == 0, printed.stderr
        found = json.loads(printed.stdout)
        assert found["mode"] == "rootless", f"{self.name}'s default mode is {found['mode']}, not rootless"
        return Settings(name=found["name"], cache_dir=Path(found["cache"]), state_dir=Path(found["state"]),
                        run_dir=Path(found["run"]), registry_port=found["port"], mode="rootless")


def ensure_user(name: str) -> pwd.struct_passwd:
    """The test's own user: created without subordinate ids (as on a machine that had no uidmap when its users were
    made), or found from an earlier run."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--comment", COMMENT, "--shell", "/bin/sh",
                        "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    assert entry.pw_gecos == COMMENT, f"user {name} exists and is not the test's own ({entry.pw_gecos!r}): not touching it"
    return entry


def can(user: str, argv: list[str]) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, check=False).returncode == 0


def learner_python(user: str, scratch: Path) -> tuple[Path, Path, str]:
    """A Python the user can run with the lab's packages, the folder to run the notebooks from, and a PYTHONPATH.

    The checkout and its venv are used as they are when the user can read them and run the venv's Python. When the
    venv's interpreter is not theirs to run (a pyenv under /root, say), a venv of the system's Python of the same
    version is made in the test's scratch folder, reading the lab's venv packages; what the user cannot read is copied
    there. Nothing the test did not create changes permissions.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    if can(user, [sys.executable, "-c", "import labkit, nbval, python_on_whales"]):
        return Path(sys.executable), REPO, ""
    workdir, pythonpath = REPO, ""
    if not can(user, ["test", "-r", str(REPO / "notebooks" / "sanitize.cfg")]):
        workdir = scratch / "checkout"
        for part in ("labkit", "notebooks"):
            shutil.copytree(REPO / part, workdir / part, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(REPO / "pyproject.toml", workdir / "pyproject.toml")
        pythonpath = str(workdir)
    if not can(user, ["test", "-r", str(site / "nbval")]):
        site = shutil.copytree(site, scratch / "site-packages", symlinks=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next((path for path in (Path(f"/usr/bin/{version}"), Path(f"/usr/local/bin/{version}"))
                 if path.is_file() and can(user, [str(path), "-c", "pass"])), None)
    assert base is not None, f"{user} can run neither {sys.executable} nor a system {version}: install {version}"
    venv = scratch / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    target = venv / "lib" / version / "site-packages"
    (target / "labkit-packages.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
    python = venv / "bin" / "python"
    assert can(user, [str(python), "-c", "import labkit, nbval, python_on_whales"]), "the learner's venv cannot import labkit"
    return python, workdir, pythonpath


def seed_cache(source: Settings, learner: Learner, target: Path) -> None:
    """The learner's cache, copied from the session's: the packages, unpacked, and the links to their programs."""
    if (target / "packages.json").is_file() and (target / "bin" / "dockerd").exists():
        return  # from an earlier run
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in ("debs", "root"):
        shutil.copytree(source.cache_dir / part, target / part, symlinks=True)
    shutil.copy2(source.record_file, target / "packages.json")
    (target / "bin").mkdir()
    for name, relative in packages.PROGRAMS.items():
        (target / "bin" / name).symlink_to(target / "root" / relative)
    if (source.cache_dir / "podman" / "packages.json").is_file():  # notebook 06's podman, when the session fetched it
        for part in ("debs", "root"):
            shutil.copytree(source.cache_dir / "podman" / part, target / "podman" / part, symlinks=True)
        shutil.copy2(source.cache_dir / "podman" / "packages.json", target / "podman" / "packages.json")
    if target.parent.is_relative_to(learner.home) and target.parent != learner.home:
        os.chown(target.parent, learner.uid, learner.gid)  # ~/.cache, which this may have made
    chown_tree(target, learner.uid, learner.gid)


def make_learner(name: str, scratch: Path) -> Learner:
    """The user `name` (made when missing), with a Python they can run (made under `scratch` when needed)."""
    entry = ensure_user(name)
    python, workdir, pythonpath = learner_python(entry.pw_name, scratch / entry.pw_name)
    return Learner(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), python, workdir, pythonpath)
