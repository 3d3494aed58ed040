"""What the tests and the soak share: the `labkit` command, the experiment's steps, a build in the background,
and the events a fault waits for (an upload under way, a build step running)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import PLATFORMS, REPOSITORY, STEP2_ERROR
from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.settings import Settings
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build
from labkit.system import processes
from tests.support.signals import with_default_signals

T = TypeVar("T")


class StepFailed(Exception):
    """A step of the experiment did not do what the lab says it does."""


def labkit_argv(*args: str) -> list[str]:
    """The command line of `labkit ARGS`, run by this interpreter."""
    return [sys.executable, "-m", "labkit", *args]


def run_labkit(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The `labkit` command, as a learner runs it (exit code, stdout, stderr)."""
    return subprocess.run(labkit_argv(*args), env=dict(env) if env is not None else None, capture_output=True, text=True,
                          timeout=timeout, check=False)


def sandbox_env(**overrides: str) -> dict[str, str]:
    """This process's environment in sandbox mode, with LABKIT_* overrides (a sandbox of its own, say)."""
    return {**os.environ, "LABKIT_MODE": "sandbox", **overrides}


def whole_lab(endpoints: Endpoints, settings: Settings, tag: str) -> None:
    """Steps 1 to 4 as the notebooks run them; StepFailed when one does not do what the lab says."""
    workdir = dockerfile.write(settings.work_dir).workdir
    attempt = default_build.build_on_default_builder(endpoints, workdir)
    if STEP2_ERROR not in attempt.result.stderr:
        raise StepFailed(f"step 2 did not fail as the lab says: {attempt.result.stderr.strip()[-300:]}")
    pushed = multiarch_build.build_and_push(endpoints, workdir, tag=tag)
    if not pushed.result.succeeded:
        raise StepFailed(f"step 3 failed: {pushed.result.stderr.strip()[-300:]}")
    platforms = inspect_index.read_index(endpoints, REPOSITORY, tag).platforms()
    if platforms != list(PLATFORMS):
        raise StepFailed(f"step 4 found {platforms}, not {list(PLATFORMS)}")


def wait_for(condition: Callable[[], T | None], timeout: float, what: str, every: float = 0.01) -> T:
    """Poll until condition() returns something truthy; AssertionError naming `what` when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


# --- a build in the background, and what it leaves -----------------------------------------------------------------

# Run in a child interpreter so that a signal reaches it as it reaches a learner's notebook kernel or shell.
_BUILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from labkit import engines
    from labkit.settings import Settings
    from labkit.steps import multiarch_build
    settings = Settings.from_env()
    spec = json.loads(sys.argv[1])
    pushed = multiarch_build.build_and_push(engines.choose(settings).endpoints(), Path(spec["workdir"]), tuple(spec["platforms"]),
                                            tag=spec["tag"], options=tuple(spec["options"]))
    print(json.dumps({"return_code": pushed.result.return_code, "stderr": pushed.result.stderr, "digest": pushed.digest}))
""")


@dataclass(frozen=True)
class SlowBuild:
    """A build context whose build is slow enough to be caught in the act: a big layer (a long upload) or a long step.

    A fresh nonce in the Dockerfile means BuildKit's cache never answers for it, and the registry never has its blobs.
    """

    workdir: Path
    nonce: str
    platforms: tuple[str, ...]

    @classmethod
    def big_layer(cls, folder: Path, platform: str, mib: int = 128) -> SlowBuild:
        """One platform, one RUN that writes `mib` MiB of random bytes: its upload takes about a second on loopback."""
        nonce = uuid.uuid4().hex
        return cls._write(folder, nonce, (platform,), f"RUN head -c {mib * 1024 * 1024} /dev/urandom > /big && echo {nonce} > /nonce")

    @classmethod
    def long_step(cls, folder: Path, platforms: tuple[str, ...], seconds: int = 5) -> SlowBuild:
        """A RUN step that sleeps; its process carries the nonce on its command line, so it can be found in /proc."""
        nonce = uuid.uuid4().hex
        return cls._write(folder, nonce, platforms, f"RUN sleep {seconds} && echo {nonce} > /nonce")

    @classmethod
    def _write(cls, folder: Path, nonce: str, platforms: tuple[str, ...], run: str) -> SlowBuild:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Dockerfile").write_text(f"FROM busybox\n{run}\n")
        return cls(folder, nonce, platforms)

    def start(self, env: Mapping[str, str] | None, tag: str) -> subprocess.Popen[str]:
        """`build_and_push` of this context in a child interpreter, in a session of its own (`--network none`:
        the sandbox's daemons have no bridge). SIGINT interrupts it however this process was started."""
        spec = {"workdir": str(self.workdir), "platforms": list(self.platforms), "tag": tag,
                "options": ["--network", "none", "--push"]}
        return subprocess.Popen(with_default_signals([sys.executable, "-c", _BUILD, json.dumps(spec)]),
                                env=dict(env) if env is not None else None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)


def build_outcome(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, dict[str, Any]]:
    """The child's exit code and the push result it printed ({} when it printed none, e.g. interrupted)."""
    stdout, _ = process.communicate(timeout=timeout)
    lines = stdout.strip().splitlines()
    return process.returncode, json.loads(lines[-1]) if lines else {}


def processes_running(text: str) -> list[int]:
    """Live processes whose command line contains `text` (a build step's nonce, say)."""
    return [pid for pid in processes.pids() if pid != os.getpid() and text in processes.command_line(pid)]


def session_members(session: int) -> list[str]:
    """`pid command` of every live process in a session (what a build started and might leave behind)."""
    found = []
    for pid in processes.pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == session:  # fields after the name: state, ppid, pgrp, session
            found.append(f"{pid} {processes.command_line(pid)}")
    return found


def upload_sessions(settings: Settings) -> list[Path]:
    """Blob uploads the registry has started and not finished, read from its storage folder."""
    repositories = settings.service_dir("registry") / "data" / "docker" / "registry" / "v2" / "repositories"
    found = []  # os.walk, not glob: an upload the registry finishes meanwhile is gone, not an error
    for folder, names, _ in os.walk(repositories):
        if Path(folder).name == "_uploads":
            found += [Path(folder) / name for name in names]
    return sorted(found)


def uploading(settings: Settings) -> Path | None:
    """An upload under way: its data file exists and has bytes in it."""
    for session in upload_sessions(settings):
        data = session / "data"
        try:
            if data.stat().st_size > 0:
                return data
        except OSError:
            continue
    return None


# --- what the registry serves, to tell whether anything was lost ---------------------------------------------------

def served_content(registry: Registry, repository: str, reference: str) -> dict[str, str]:
    """Every digest a tag references, manifests and blobs alike, mapped to its kind (read through the registry)."""
    top = registry.get_manifest(repository, reference)
    if top is None:
        return {}
    found = {top.digest: "index"}
    document = top.json()
    manifests = [entry["digest"] for entry in document.get("manifests", [])] or [top.digest]
    for digest in manifests:
        manifest = registry.get_manifest(repository, digest)
        if manifest is None:
            continue
        found[digest] = "manifest"
        body = manifest.json()
        for blob in [body.get("config", {}), *body.get("layers", [])]:
            if "digest" in blob:
                found[blob["digest"]] = "blob"
    return found


def lost_content(registry: Registry, repository: str, reference: str, expected: dict[str, str]) -> list[str]:
    """What a tag referenced before and is no longer served under the same digest (bytes are re-hashed)."""
    def served(digest: str, kind: str) -> bool:
        if kind == "index":
            top = registry.get_manifest(repository, reference)
            return top is not None and top.digest == digest and media.digest_of(top.data) == digest
        if kind == "manifest":
            manifest = registry.get_manifest(repository, digest)
            return manifest is not None and media.digest_of(manifest.data) == digest
        return registry.has_blob(repository, digest) and media.digest_of(registry.get_blob(repository, digest)) == digest

    lost = []
    for digest, kind in expected.items():
        try:
            ok = served(digest, kind)
        except LabError:  # the registry refused to serve it (a blob whose bytes are gone, say)
            ok = False
        if not ok:
            lost.append(f"{repository}:{reference} {kind} {digest[:19]}")
    return lost


# --- the experiment in a process of its own, and host mode against the sandbox's daemons -------------------------

# The four steps of the experiment, in a process of their own with the environment under test.
STEPS = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from labkit import engines
    from labkit.experiment import REPOSITORY
    from labkit.settings import Settings
    from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build
    lab = engines.choose(Settings.from_env()).endpoints()
    workdir = dockerfile.write(Path(sys.argv[1])).workdir
    attempt = default_build.build_on_default_builder(lab, workdir)
    pushed = multiarch_build.build_and_push(lab, workdir, tag=sys.argv[2])
    index = inspect_index.read_index(lab, REPOSITORY, sys.argv[2])
    print(json.dumps({"step2": [attempt.result.return_code, attempt.result.stderr],
                      "step3": [pushed.result.return_code, pushed.result.stderr], "step4": index.platforms()}))
""")

# The sandbox's daemons standing in for a learner's engine in host mode, each with host mode's registry on its own port.
HOST_MODE_PORTS = {"classic": 5310, "multiarch": 5320}


def host_mode_env(settings: Settings, engine: str, state: Path) -> dict[str, str]:
    """The environment of a host-mode lab whose engine is one of the sandbox's daemons (its state in `state`)."""
    return {**os.environ, "LABKIT_MODE": "host", "LABKIT_NAME": f"host-{engine}",
            "LABKIT_DOCKER_HOST": f"unix://{settings.socket(engine)}", "LABKIT_STATE_DIR": str(state),
            "LABKIT_CACHE_DIR": str(settings.cache_dir), "LABKIT_REGISTRY_PORT": str(HOST_MODE_PORTS[engine])}
