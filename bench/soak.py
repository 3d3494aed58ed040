"""Soak: ROUNDS rounds of up -> the whole lab (steps 1-4) -> down, with a random fault injected in each.

Runs in a sandbox of its own (own name, folders and port; the package cache is shared), so the
learner's lab is untouched, and removes it afterwards. Every fault must be recovered by what a
learner would do (`labkit up`, then run the step again). The last line is machine-readable:
    rounds=… injected=… recovered=… lost=… leftover=…
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
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from labkit.engine import inventory, mounts, processes, sandbox
from labkit.errors import LabError
from labkit.oci.registry import Registry
from labkit.settings import Settings
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build

ROUNDS = int(os.environ.get("ROUNDS", "20"))
SEED = int(os.environ.get("SOAK_SEED", "1"))


class Soak:
    """One soak run: its own sandbox, its counters."""

    def __init__(self, work: Path) -> None:
        self.env = {**os.environ, "LABKIT_MODE": "sandbox", "LABKIT_NAME": "soak",
                    "LABKIT_STATE_DIR": str(work / "state"), "LABKIT_RUN_DIR": "/tmp/mlab-soak",
                    "LABKIT_REGISTRY_PORT": os.environ.get("SOAK_REGISTRY_PORT", "5092")}
        self.settings = Settings.from_env(self.env)
        self.injected = self.recovered = self.lost = self.leftover = 0
        self.pushed: list[str] = []  # tags that must still be served

    def labkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labkit", *args], env=self.env, capture_output=True, text=True,
                              timeout=300, check=False)

    def up(self) -> None:
        result = self.labkit("up")
        if result.returncode != 0:
            raise RuntimeError(f"labkit up failed: {result.stderr.strip()}")

    def pid(self, service: str) -> int:
        pid = processes.owned_pid(sandbox.spec_of(self.settings, service))
        if pid is None:
            raise RuntimeError(f"{service} is not running")
        return pid

    def whole_lab(self, tag: str) -> None:
        """Steps 1 to 4, as the notebooks run them; raises when a step does not do what the lab says."""
        endpoints = sandbox.endpoints(self.settings)
        workdir = dockerfile.write(self.settings.work_dir).workdir
        attempt = default_build.build(endpoints, workdir)
        if "Multi-platform build is not supported for the docker driver" not in attempt.result.stderr:
            raise RuntimeError(f"step 2 did not fail as the lab says: {attempt.result.stderr.strip()[-200:]}")
        pushed = multiarch_build.build_and_push(endpoints, workdir, tag=tag)
        if not pushed.result.succeeded:
            raise RuntimeError(f"step 3 failed: {pushed.result.stderr.strip()[-200:]}")
        if inspect_index.read_index(endpoints, "demo", tag).platforms() != ["linux/amd64", "linux/arm64"]:
            raise RuntimeError("step 4 did not find both platforms")

    def background_push(self, tag: str) -> subprocess.Popen[str]:
        code = textwrap.dedent(f"""
            from labkit.engine import sandbox
            from labkit.settings import Settings
            from labkit.steps import dockerfile, multiarch_build
            settings = Settings.from_env()
            multiarch_build.build_and_push(sandbox.endpoints(settings), dockerfile.write(settings.work_dir).workdir, tag={tag!r})
        """)
        return subprocess.Popen([sys.executable, "-c", code], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, text=True, start_new_session=True)

    # --- faults: each leaves the lab broken in one way -----------------------------------------
    def kill_registry_during_push(self, tag: str) -> None:
        push = self.background_push(tag)
        time.sleep(random.uniform(0.1, 0.5))
        os.kill(self.pid("registry"), signal.SIGKILL)
        push.wait(timeout=120)

    def kill_a_daemon(self, tag: str) -> None:
        os.kill(self.pid(random.choice(tuple(sandbox.DAEMONS))), signal.SIGKILL)
        time.sleep(0.3)

    def stale_pid_file_and_socket(self, tag: str) -> None:
        os.kill(self.pid("classic"), signal.SIGKILL)
        time.sleep(0.3)
        sandbox.daemon_spec(self.settings, "classic").pid_file.write_text(f"{os.getpid()}\n")
        self.settings.socket("classic").touch(exist_ok=True)

    def interrupt_a_build(self, tag: str) -> None:
        push = self.background_push(tag)
        time.sleep(random.uniform(0.1, 0.6))
        os.killpg(push.pid, signal.SIGINT)
        push.wait(timeout=120)

    def two_ups_at_once(self, tag: str) -> None:
        os.kill(self.pid("registry"), signal.SIGKILL)
        both = [subprocess.Popen([sys.executable, "-m", "labkit", "up"], env=self.env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL) for _ in range(2)]
        if [p.wait(timeout=300) for p in both] != [0, 0]:
            raise RuntimeError("two ups at once: one failed")

    def port_taken(self, tag: str) -> None:
        os.kill(self.pid("registry"), signal.SIGKILL)
        time.sleep(0.2)
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", self.settings.registry_port))
            squatter.listen()
            result = self.labkit("up")
            if result.returncode != 2 or "LABKIT_REGISTRY_PORT" not in result.stderr:
                raise RuntimeError(f"a taken port was not reported: {result.stderr.strip()}")

    def remove_registry_folder(self, tag: str) -> None:
        shutil.rmtree(self.settings.service_dir("registry"), ignore_errors=True)
        self.pushed.clear()  # its images are gone by design: not counted as lost

    FAULTS: tuple[str, ...] = ("kill_registry_during_push", "kill_a_daemon", "stale_pid_file_and_socket",
                               "interrupt_a_build", "two_ups_at_once", "port_taken", "remove_registry_folder")

    def leftovers(self) -> list[str]:
        found = [f"process {p.pid} {p.program}" for p in inventory.lab_processes(self.settings)]
        found += [f"socket {s}" for s in (self.settings.socket(n) for n in sandbox.DAEMONS) if s.exists()]
        found += [f"mount {point}" for point in mounts.lab_mounts(mounts.sandbox_folders(self.settings))]
        found += [f"pid file {spec.pid_file}" for spec in (sandbox.spec_of(self.settings, n) for n in sandbox.SERVICES)
                  if spec.pid_file.exists()]
        return found

    def round(self, number: int) -> None:
        self.up()
        tag = f"round-{number}"
        fault: Callable[[str], None] = getattr(self, random.choice(self.FAULTS))
        self.injected += 1
        try:
            fault(tag)
            self.whole_lab(tag)  # some faults break this run ...
            recovered_without_help = True
        except (RuntimeError, LabError, OSError):
            recovered_without_help = False
        if not recovered_without_help:
            self.up()  # ... and what a learner does next must mend it
            self.whole_lab(tag)
        self.recovered += 1
        self.pushed.append(tag)
        registry = Registry(self.settings.registry_address)
        missing = [t for t in self.pushed if registry.get_manifest("demo", t) is None]
        missing += [] if self.settings.work_dir.joinpath("Dockerfile").is_file() else ["Dockerfile"]
        self.lost += len(missing)
        result = self.labkit("down")
        left = self.leftovers()
        self.leftover += len(left) + (result.returncode != 0)
        print(f"round {number:3d}: {fault.__name__:28s} recovered {'by itself' if recovered_without_help else 'after up'}"
              + (f"; lost {missing}" if missing else "") + (f"; left {left}" if left else ""), flush=True)


def main() -> None:
    random.seed(SEED)
    work = Path(tempfile.mkdtemp(prefix="labkit-soak-"))
    soak = Soak(work)
    rounds = 0
    try:
        for number in range(1, ROUNDS + 1):
            try:
                soak.round(number)
            except (RuntimeError, LabError, OSError) as error:
                print(f"round {number:3d}: NOT RECOVERED: {error}", flush=True)
                soak.labkit("down")
            rounds += 1
    finally:
        soak.labkit("down")
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/tmp/mlab-soak", ignore_errors=True)
    print(f"rounds={rounds} injected={soak.injected} recovered={soak.recovered} lost={soak.lost} leftover={soak.leftover}")


if __name__ == "__main__":
    main()
