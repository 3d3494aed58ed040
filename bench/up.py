"""Benchmark `labkit up`: cold (empty cache, downloads included), warm (cached, services stopped),
no-op (already running), and the memory of all services together; then the same warm start and memory for the
rootless sandbox, run by a user of the machine.

As root, the sandbox runs in a sandbox of its own (own name, folders and port), so the learner's lab is untouched,
and is removed afterwards; the rootless sandbox runs as the bench's own user, `mlab-bench` (made and prepared with
`labkit prepare-host` on the first run, kept for the next; its cache is seeded from the bench's). As a user, only the
rootless sandbox is measured, cold and warm, in folders of its own. The last line is machine-readable:
    up_cold_s=… up_warm_s=… rss_mib=… rootless_up_warm_s=… rootless_rss_mib=…
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from labkit.settings import Settings
from labkit.system import inventory, processes
from labkit.system.machine import euid
from tests.support.learners import make_learner, seed_cache
from tests.support.runs import run_labkit

BENCH_USER = "mlab-bench"


def _timed(run: Callable[[], tuple[int, str]], what: str) -> float:
    started = time.monotonic()
    code, output = run()
    elapsed = time.monotonic() - started
    if code != 0:
        sys.exit(f"{what} failed:\n{output}")
    return elapsed


def _labkit(env: dict[str, str], *args: str) -> float:
    def run() -> tuple[int, str]:
        result = run_labkit(*args, env=env)
        return result.returncode, result.stdout + result.stderr
    return _timed(run, f"labkit {' '.join(args)}")


def _rss_kib(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)


def _stat(pid: int) -> tuple[int, int]:
    """(uid, parent pid) of a live process; (-1, -1) when it is gone."""
    try:
        uid = Path(f"/proc/{pid}").stat().st_uid
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1, -1
    return uid, ppid


def _rootless_rss(uid: int, settings: Settings) -> tuple[float, int]:
    """MiB and count of the rootless lab's processes: the user's processes that name its folders (RootlessKit, the
    registry, the daemons, their containerd) and all they started (slirp4netns, RootlessKit's child)."""
    folders = (str(settings.run_dir), str(settings.state_dir), str(settings.cache_dir))
    table = {pid: _stat(pid) for pid in processes.pids()}
    mine = {pid for pid, (owner, _) in table.items() if owner == uid}
    lab = {pid for pid in mine if any(folder in processes.command_line(pid) for folder in folders)}
    grown = True
    while grown:
        children = {pid for pid in mine if table[pid][1] in lab} - lab
        lab |= children
        grown = bool(children)
    return sum(_rss_kib(pid) for pid in lab) / 1024, len(lab)


def _sandbox(work: Path) -> tuple[Settings, str]:
    env = {
        **os.environ,
        "LABKIT_MODE": "sandbox",
        "LABKIT_NAME": "bench",
        "LABKIT_CACHE_DIR": str(work / "cache"),
        "LABKIT_STATE_DIR": str(work / "state"),
        "LABKIT_RUN_DIR": "/tmp/mlab-bench",
        "LABKIT_REGISTRY_PORT": os.environ.get("BENCH_REGISTRY_PORT", "5091"),
    }
    settings = Settings.from_env(env)
    try:
        cold = _labkit(env, "up")
        noop = _labkit(env, "up")
        rss = sum(_rss_kib(p.pid) for p in inventory.lab_processes(settings)) / 1024
        count = len(inventory.lab_processes(settings))
        _labkit(env, "down")
        warm = _labkit(env, "up")
    finally:
        run_labkit("down", env=env)
        shutil.rmtree("/tmp/mlab-bench", ignore_errors=True)
    print(f"cold up (empty cache, downloads included): {cold:6.2f} s")
    print(f"warm up (cached, services stopped):        {warm:6.2f} s")
    print(f"no-op up (everything running):              {noop:6.2f} s")
    print(f"RSS of all services ({count} processes):       {rss:6.1f} MiB")
    return settings, f"up_cold_s={cold:.2f} up_warm_s={warm:.2f} rss_mib={rss:.0f}"


def _rootless_as_bench_user(source: Settings, scratch: Path) -> str:
    """The rootless sandbox, run by the bench's own user (as root: made, prepared and seeded here)."""
    learner = make_learner(BENCH_USER, scratch)
    prepared = run_labkit("prepare-host", "--user", BENCH_USER, timeout=600)
    if prepared.returncode != 0:
        sys.exit(f"labkit prepare-host failed:\n{prepared.stdout}{prepared.stderr}")
    settings = learner.settings
    seed_cache(source, learner, settings.cache_dir)

    def labkit(*args: str) -> Callable[[], tuple[int, str]]:
        def run() -> tuple[int, str]:
            result = learner.labkit(*args)
            return result.returncode, result.stdout + result.stderr
        return run

    try:
        first = _timed(labkit("up"), "labkit up (rootless)")
        noop = _timed(labkit("up"), "labkit up (rootless)")
        rss, count = _rootless_rss(learner.uid, settings)
        _timed(labkit("down"), "labkit down (rootless)")
        warm = _timed(labkit("up"), "labkit up (rootless)")
    finally:
        learner.labkit("down")
        shutil.rmtree(settings.state_dir, ignore_errors=True)
    print(f"rootless, as {BENCH_USER}: first up (cached): {first:6.2f} s; warm up (services stopped): {warm:6.2f} s; "
          f"no-op up: {noop:6.2f} s")
    print(f"rootless RSS of all services ({count} processes): {rss:6.1f} MiB")
    return f"rootless_up_warm_s={warm:.2f} rootless_rss_mib={rss:.0f}"


def _rootless_as_this_user(work: Path) -> str:
    """As a user: the rootless sandbox in folders of its own, cold (empty cache) then warm."""
    env = {**os.environ, "LABKIT_MODE": "rootless", "LABKIT_NAME": "bench", "LABKIT_CACHE_DIR": str(work / "cache"),
           "LABKIT_STATE_DIR": str(work / "state"), "LABKIT_RUN_DIR": str(work / "run")}
    try:
        cold = _labkit(env, "up")
        rss, count = _rootless_rss(euid(), Settings.from_env(env))
        _labkit(env, "down")
        warm = _labkit(env, "up")
    finally:
        run_labkit("down", env=env)
    print(f"rootless cold up (empty cache, downloads included): {cold:6.2f} s; warm up: {warm:6.2f} s")
    print(f"rootless RSS of all services ({count} processes): {rss:6.1f} MiB")
    return f"rootless_up_cold_s={cold:.2f} rootless_up_warm_s={warm:.2f} rootless_rss_mib={rss:.0f}"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    try:
        if euid() != 0:
            print(_rootless_as_this_user(work))
            return
        settings, figures = _sandbox(work)
        scratch = work / "learner"
        scratch.mkdir()
        work.chmod(0o755)
        scratch.chmod(0o755)
        print(f"{figures} {_rootless_as_bench_user(settings, scratch)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
