"""Benchmark `labkit up`: cold (empty cache, downloads included), warm (cached, services stopped),
no-op (already running), and the memory of all services together.

Runs in a sandbox of its own (own name, folders and port), so the learner's lab is untouched,
and removes it afterwards. The last line is machine-readable:
    up_cold_s=… up_warm_s=… rss_mib=…
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from labkit.settings import Settings
from labkit.system import inventory
from tests.helpers import run_labkit


def _labkit(env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    result = run_labkit(*args, env=env)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"labkit {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def _rss_mib(settings: Settings) -> float:
    total_kib = 0
    for process in inventory.lab_processes(settings):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    env = {
        **os.environ,
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
        rss = _rss_mib(settings)
        _labkit(env, "down")
        warm = _labkit(env, "up")
        print(f"cold up (empty cache, downloads included): {cold:6.2f} s")
        print(f"warm up (cached, services stopped):        {warm:6.2f} s")
        print(f"no-op up (everything running):              {noop:6.2f} s")
        print(f"RSS of all services ({len(inventory.lab_processes(settings))} processes):       {rss:6.1f} MiB")
        print(f"up_cold_s={cold:.2f} up_warm_s={warm:.2f} rss_mib={rss:.0f}")
    finally:
        run_labkit("down", env=env)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/tmp/mlab-bench", ignore_errors=True)


if __name__ == "__main__":
    main()
