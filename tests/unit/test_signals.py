"""A child started through `with_default_signals` ends on SIGINT even when the run that starts it was started as a
background job, with SIGINT ignored; without it, the same child shrugs SIGINT off."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support.signals import background_job, with_default_signals

REPO = Path(__file__).resolve().parents[2]

# Started as a background job: it starts `sleep`, with or without the helper, sends it SIGINT once it is `sleep`, and
# says how it ended. A signal whose action is the default ends `sleep` as it is sent, and an ignored one is dropped as
# it is sent, so the short wait only lets the end be seen; the SIGKILL after it cannot change how `sleep` ended.
_CALLER = textwrap.dedent("""
    import json, signal, subprocess, sys, time
    from tests.support.signals import with_default_signals

    def ignored(pid):
        with open(f"/proc/{pid}/status") as status:
            mask = int(status.read().split("SigIgn:")[1].split()[0], 16)
        return bool(mask & (1 << (signal.SIGINT - 1)))

    def command_of(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\\0")[0]

    argv = ["sleep", "30"]
    sleep = subprocess.Popen(with_default_signals(argv) if sys.argv[1] == "helper" else argv)
    try:
        deadline = time.monotonic() + 5
        while command_of(sleep.pid) != b"sleep" and time.monotonic() < deadline:
            time.sleep(0.001)
        report = {"caller_ignores": ignored("self"), "child_ignores": ignored(sleep.pid)}
        sleep.send_signal(signal.SIGINT)
        try:
            sleep.wait(timeout=0.3)
        except subprocess.TimeoutExpired:
            pass
    finally:
        sleep.kill()
        sleep.wait()
    print(json.dumps({**report, "returncode": sleep.returncode}))
""")


def _as_background_jobs(*modes: str) -> list[dict[str, Any]]:
    """The caller's report for each mode, each run as a background job of a non-interactive shell (side by side)."""
    runs = [subprocess.Popen(background_job([sys.executable, "-c", _CALLER, mode]), cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for mode in modes]
    outputs = [run.communicate(timeout=30) for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), outputs
    return [json.loads(stdout) for stdout, _ in outputs]


def test_a_child_started_through_the_helper_ends_on_sigint_although_its_caller_ignores_it() -> None:
    with_helper, without = _as_background_jobs("helper", "inherited")
    assert with_helper["caller_ignores"] and without["caller_ignores"], "the background job did not ignore SIGINT"
    assert with_helper == {"caller_ignores": True, "child_ignores": False, "returncode": -signal.SIGINT}
    assert without == {"caller_ignores": True, "child_ignores": True, "returncode": -signal.SIGKILL}, \
        "without the helper the child inherits SIGINT ignored, and SIGINT does not end it"


def test_the_helper_becomes_the_command_and_says_when_there_is_none() -> None:
    echo = subprocess.Popen(with_default_signals(["sh", "-c", 'echo "$$ $0 $1"', "zero", "one"]), stdout=subprocess.PIPE,
                            text=True)
    stdout, _ = echo.communicate(timeout=10)
    assert echo.returncode == 0 and stdout.split() == [str(echo.pid), "zero", "one"], stdout  # the same process
    missing = subprocess.run(with_default_signals(["no-such-command-here"]), capture_output=True, text=True, timeout=10,
                             check=False)
    assert missing.returncode == 127 and "no-such-command-here" in missing.stderr, missing
