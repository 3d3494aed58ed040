"""Soak: ROUNDS rounds of up -> a fault -> the whole lab (steps 1-4) -> down, in a sandbox of its own.

Each round injects one fault at the moment it matters (a registry killed while it receives a layer, a build
interrupted while BuildKit runs a step, …), then does what a learner would: run the lab again, and `labkit up`
when that fails. The counts are kept apart:
    recovered  the lab worked again after the fault
    failed     a check inside the fault went wrong (it was not the fault it claims to be), or the lab did not recover
    lost       something pushed in an earlier round (a manifest or a blob) is no longer served with the same digest
    leftover   processes, sockets, mounts or pid files left after `labkit down`
It exits 1 when failed, lost or leftover is above zero. The last line is machine-readable:
    rounds=… injected=… recovered=… failed=… lost=… leftover=…

The package cache is shared with the learner's lab; nothing else is (own name, folders and port).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from labkit.engines import DAEMONS, own
from labkit.engines.sandbox import SandboxEngine
from labkit.errors import LabError
from labkit.experiment import REPOSITORY
from labkit.oci.registry import Registry
from labkit.settings import Settings
from labkit.system import inventory, mounts, processes
from tests.support.runs import (
    SlowBuild,
    StepFailed,
    build_outcome,
    labkit_argv,
    lost_content,
    processes_running,
    run_labkit,
    served_content,
    session_members,
    uploading,
    wait_for,
    whole_lab,
)


class CheckFailed(Exception):
    """A check inside a fault went wrong: the fault did not happen as it claims, or the lab answered it wrongly."""


@dataclass
class Counts:
    """What the soak counts; `ok` is the verdict."""

    rounds: int = 0
    injected: int = 0
    recovered: int = 0
    failed: int = 0
    lost: int = 0
    leftover: int = 0

    @property
    def ok(self) -> bool:
        """True when every fault was recovered and nothing was lost or left behind."""
        return self.failed == self.lost == self.leftover == 0 and self.recovered == self.injected

    def line(self) -> str:
        """The machine-readable last line."""
        return " ".join(f"{name}={value}" for name, value in vars(self).items())


@dataclass
class Soak:
    """One soak run: its own sandbox, its counts, and what it pushed (to tell whether anything was lost)."""

    work: Path
    port: int = 5092
    counts: Counts = field(default_factory=Counts)
    pushed: dict[str, dict[str, str]] = field(default_factory=dict)  # tag -> every digest it referenced when pushed

    FAULTS: ClassVar[tuple[str, ...]] = ("kill_registry_during_upload", "kill_a_daemon", "stale_pid_file_and_socket",
                               "interrupt_a_build", "two_ups_at_once", "port_taken", "remove_registry_folder")

    def __post_init__(self) -> None:
        self.env = {**os.environ, "LABKIT_MODE": "sandbox", "LABKIT_NAME": "soak",
                    "LABKIT_STATE_DIR": str(self.work / "state"), "LABKIT_RUN_DIR": "/tmp/mlab-soak",
                    "LABKIT_REGISTRY_PORT": str(self.port)}
        self.settings = Settings.from_env(self.env)

    # --- what a learner does ---------------------------------------------------------------------------------------
    def up(self) -> None:
        result = run_labkit("up", env=self.env)
        if result.returncode != 0:
            raise StepFailed(f"labkit up failed: {result.stderr.strip()[-300:]}")

    def whole_lab(self, tag: str) -> None:
        whole_lab(SandboxEngine(self.settings).endpoints(), self.settings, tag)

    def pid(self, service: str) -> int:
        pid = processes.owned_pid(SandboxEngine(self.settings).spec_of(service))
        if pid is None:
            raise CheckFailed(f"{service} is not running before the fault")
        return pid

    def kill(self, service: str) -> None:
        os.kill(self.pid(service), signal.SIGKILL)
        wait_for(lambda: not own.answers(self.settings, service), 10, f"{service} to stop answering", every=0.05)

    # --- faults: each breaks the lab in one way, and checks that it did ----------------------------------------------
    def kill_registry_during_upload(self, tag: str) -> None:
        build = SlowBuild.big_layer(self.work / "big", f"linux/{self.settings.host_arch}")
        push = build.start(self.env, tag)
        wait_for(lambda: uploading(self.settings), 120, "the registry to receive the layer's bytes")
        self.kill("registry")
        exit_code, pushed = build_outcome(push)
        if exit_code != 0 or pushed.get("return_code", 0) == 0:
            raise CheckFailed(f"the push did not fail when the registry was killed (exit {exit_code}, {pushed})")
        if "connection refused" not in pushed["stderr"] and "closed network connection" not in pushed["stderr"]:
            raise CheckFailed(f"the push failed, but not for the lost connection: {pushed['stderr'][-300:]}")

    def kill_a_daemon(self, tag: str) -> None:
        self.kill(random.choice(tuple(DAEMONS)))

    def stale_pid_file_and_socket(self, tag: str) -> None:
        self.kill("classic")
        SandboxEngine(self.settings).spec_of("classic").pid_file.write_text(f"{os.getpid()}\n")  # not the lab's: this soak
        self.settings.socket("classic").touch(exist_ok=True)

    def interrupt_a_build(self, tag: str) -> None:
        build = SlowBuild.long_step(self.work / "slow", ("linux/amd64", "linux/arm64"))
        push = build.start(self.env, tag)
        wait_for(lambda: processes_running(build.nonce), 60, "BuildKit to run the RUN step")
        if random.random() < 0.5:
            os.killpg(push.pid, signal.SIGINT)  # Ctrl-C in a terminal
        else:
            os.kill(push.pid, signal.SIGINT)  # a notebook's stop button: the kernel alone
        exit_code, pushed = build_outcome(push, timeout=60)
        if exit_code == 0 or pushed:
            raise CheckFailed(f"the build was not interrupted (exit {exit_code}, {pushed})")
        wait_for(lambda: not session_members(push.pid) and not processes_running(build.nonce), 20,
                 "the build's processes and BuildKit's step to end", every=0.1)

    def two_ups_at_once(self, tag: str) -> None:
        self.kill("registry")
        both = [subprocess.Popen(labkit_argv("up"), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(2)]
        codes = [p.wait(timeout=300) for p in both]
        if codes != [0, 0]:
            raise CheckFailed(f"two ups at once exited with {codes}")

    def port_taken(self, tag: str) -> None:
        self.kill("registry")
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", self.settings.registry_port))
            squatter.listen()
            result = run_labkit("up", env=self.env)
        if result.returncode != 2 or "LABKIT_REGISTRY_PORT" not in result.stderr:
            raise CheckFailed(f"a taken port was not reported (exit {result.returncode}): {result.stderr.strip()[-300:]}")

    def remove_registry_folder(self, tag: str) -> None:
        shutil.rmtree(self.settings.service_dir("registry"), ignore_errors=True)
        self.pushed.clear()  # its images are gone by design: not counted as lost

    # --- one round ---------------------------------------------------------------------------------------------------
    def inject(self, fault: Callable[[str], None], tag: str) -> str:
        """Inject the fault, then recover as a learner would; returns how it went (`failed: …` when it did not)."""
        try:
            fault(tag)
        except CheckFailed as error:
            return f"failed: {error}"
        except (AssertionError, LabError, OSError, subprocess.SubprocessError) as error:
            return f"failed: the fault could not be injected: {error}"
        try:
            self.whole_lab(tag)
            return "recovered by itself"
        except (StepFailed, LabError):
            pass
        try:
            self.up()
            self.whole_lab(tag)
        except (StepFailed, LabError) as error:
            return f"failed: not recovered after up: {error}"
        return "recovered after up"

    def lost_content(self) -> list[str]:
        registry = Registry(self.settings.registry)
        try:
            return [item for tag, content in self.pushed.items()
                    for item in lost_content(registry, REPOSITORY, tag, content)]
        except LabError as error:
            return [f"the registry does not answer: {error.what}"]

    def leftovers(self) -> list[str]:
        found = [f"process {p.pid} {p.program}" for p in inventory.lab_processes(self.settings)]
        found += [f"socket {s}" for s in (self.settings.socket(n) for n in DAEMONS) if s.exists()]
        found += [f"mount {point}" for point in mounts.lab_mounts(mounts.sandbox_folders(self.settings))]
        found += [f"pid file {spec.pid_file}" for spec in (SandboxEngine(self.settings).spec_of(n) for n in own.SERVICES)
                  if spec.pid_file.exists()]
        return found

    def round(self, number: int) -> None:
        tag = f"round-{number}"
        name = random.choice(self.FAULTS)
        try:
            self.up()
        except StepFailed as error:
            outcome = f"failed: the lab did not come up before the fault: {error}"
        else:
            self.counts.injected += 1
            outcome = self.inject(getattr(self, name), tag)
        if outcome.startswith("failed"):
            self.counts.failed += 1
        else:
            self.counts.recovered += 1
        lost = self.lost_content()
        self.counts.lost += len(lost)
        if not outcome.startswith("failed"):
            self.pushed[tag] = served_content(Registry(self.settings.registry), REPOSITORY, tag)
        down = run_labkit("down", env=self.env)
        left = self.leftovers() + ([f"labkit down exited {down.returncode}"] if down.returncode else [])
        self.counts.leftover += len(left)
        self.counts.rounds += 1
        print(f"round {number:3d}: {name:28s} {outcome}" + (f"; lost {lost}" if lost else "")
              + (f"; left {left}" if left else ""), flush=True)


def run(soak: Soak, rounds: int, seed: int) -> int:
    """Run the rounds, clean up, print the counts; the exit code (1 when anything failed, was lost or left)."""
    random.seed(seed)
    try:
        for number in range(1, rounds + 1):
            soak.round(number)
    finally:
        run_labkit("down", env=soak.env)
        shutil.rmtree(soak.work, ignore_errors=True)
        shutil.rmtree(soak.settings.run_dir, ignore_errors=True)
    print(soak.counts.line(), flush=True)
    return 0 if soak.counts.ok else 1


def main() -> int:
    soak = Soak(Path(tempfile.mkdtemp(prefix="labkit-soak-")), int(os.environ.get("SOAK_REGISTRY_PORT", "5092")))
    return run(soak, int(os.environ.get("ROUNDS", "20")), int(os.environ.get("SOAK_SEED", "1")))


if __name__ == "__main__":
    sys.exit(main())
