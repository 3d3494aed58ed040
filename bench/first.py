"""Benchmark a learner's first minutes: a fresh clone to notebook 00 open in JupyterLab (cold), then the whole lab (warm).

1. `git clone` of this repository (its committed HEAD) into a temporary folder;
2. `make lab` there, with empty package caches (uv's and pip's) and a sandbox of its own (name, folders, registry port),
   until JupyterLab answers 200 for notebook 00 through its contents API with its token: first_notebook_cold_s;
3. the sandbox that `make lab` provisions in the background, until it is up;
4. the whole lab as `make run` runs it (`python -m labkit.nbtools run` in the clone, against its sandbox): once to build
   what a first run builds, once timed (run_warm_s), and once more with each docker command timed, for the split.

Only the clone's own files, caches and sandbox are used (nothing of the main lab is touched), and all are removed at
the end. Where the time goes is printed first; the last line is machine-readable:
    first_notebook_cold_s=… run_warm_s=…

    BENCH_NAME / BENCH_REGISTRY_PORT    the sandbox's name and registry port (default: first, 5094)
    BENCH_KEEP=1                        keep the temporary folder (logs, clone) and print where it is
    BENCH_REF=<commit>                  measure that commit of the repository instead (its `make lab` may provision
                                        the sandbox before JupyterLab starts, as the lab did before it did so meanwhile)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.support.signals import with_default_signals

REPO = Path(__file__).resolve().parent.parent
NAME = os.environ.get("BENCH_NAME", "first")
REGISTRY_PORT = os.environ.get("BENCH_REGISTRY_PORT", "5094")
FIRST_NOTEBOOK = "00_start_here.ipynb"
# What runs under `labkit up`, told apart by its command line (each names the bench's own folders).
UP_PHASES = {
    "package lists (apt-get update)": re.compile(r"apt-get .* update$"),
    "package downloads (apt-get download)": re.compile(r"apt-get .* download "),
    "unpacking (dpkg-deb)": re.compile(r"^dpkg-deb "),
}
DAEMONS = re.compile(r"/(dockerd|docker-registry) ")


@dataclass
class Timeline:
    """Lines of a process's output, and the processes seen under the bench's folder, each with when it was seen."""

    started: float = field(default_factory=time.monotonic)
    lines: list[tuple[float, str]] = field(default_factory=list)
    seen: dict[str, tuple[float, float]] = field(default_factory=dict)

    def at(self) -> float:
        return time.monotonic() - self.started

    def line(self, pattern: str) -> float | None:
        """When the first output line matching pattern came (seconds since the start), or None."""
        return next((when for when, text in self.lines if re.search(pattern, text)), None)

    def process(self, phase: str, now: float) -> None:
        first, _ = self.seen.get(phase, (now, now))
        self.seen[phase] = (first, now)


def _follow(stream: IO[str] | None, timeline: Timeline, echo: Callable[[str], None]) -> threading.Thread:
    assert stream is not None

    def read() -> None:
        for raw in iter(stream.readline, ""):
            timeline.lines.append((timeline.at(), raw.rstrip("\n")))
            echo(raw.rstrip("\n"))
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _watch_processes(work: Path, timeline: Timeline, stop: threading.Event) -> threading.Thread:
    """Sample /proc every 50 ms for the processes of `labkit up` that name the bench's folder."""
    marker = str(work).encode()

    def sample() -> None:
        while not stop.is_set():
            now = timeline.at()
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    raw = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if marker not in raw:
                    continue
                command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
                for phase, pattern in UP_PHASES.items():
                    if pattern.search(command):
                        timeline.process(phase, now)
                if DAEMONS.search(command):
                    timeline.process("daemons", now)
            stop.wait(0.05)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return thread


def free_port() -> int:
    """A port nothing listens on, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    """True when the URL answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _timed_run(clone: Path, env: dict[str, str], echo: bool = False) -> tuple[float, Timeline]:
    """`python -m labkit.nbtools run` in the clone: its duration and its output lines, timed."""
    timeline = Timeline()
    process = subprocess.Popen([str(clone / ".venv/bin/python"), "-m", "labkit.nbtools", "run"], cwd=clone, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader = _follow(process.stdout, timeline, print if echo else lambda line: None)
    code = process.wait()
    reader.join()
    elapsed = timeline.at()
    if code != 0:
        sys.exit("the whole lab failed in the clone:\n" + "\n".join(text for _, text in timeline.lines[-30:]))
    return elapsed, timeline


def _docker_trace(clone: Path, env: dict[str, str], cache: Path) -> tuple[Timeline, list[tuple[float, float, str]]]:
    """One more run with the clone's docker CLI wrapped, so that each docker command's duration is logged."""
    docker = cache / "bin" / "docker"
    real = docker.resolve()
    log = cache / "docker-trace.log"
    docker.unlink()
    docker.write_text(
        "#!/bin/bash\n"
        "started=$(date +%s.%N)\n"
        f'"{real}" "$@"\n'
        "code=$?\n"
        f'echo "$started $(date +%s.%N) $*" >> "{log}"\n'
        "exit $code\n")
    docker.chmod(0o755)
    try:
        offset = time.time() - time.monotonic()
        _, timeline = _timed_run(clone, env)
        calls = []
        for row in log.read_text().splitlines():
            began, ended, command = row.split(" ", 2)
            start = float(began) - offset - timeline.started
            calls.append((start, float(ended) - float(began), command))
        return timeline, calls
    finally:
        docker.unlink()
        docker.symlink_to(real)


def _kind(command: str) -> str:
    """`buildx build`, `info`, `run`, …: a docker command line without its global options."""
    words = command.split()
    while words and words[0].startswith("--") and "=" not in words[0]:
        words = words[2:]
    return " ".join(words[:2]) if words[:1] in (["buildx"], ["image"]) else (words[0] if words else "?")


def _split_of_run(timeline: Timeline, calls: list[tuple[float, float, str]]) -> None:
    """Per notebook: time, docker commands and their time; then per kind of docker command.

    Notebooks run side by side (nbtools.CHAINS): a docker command counts for every notebook running when it started.
    """
    starts = {text.split()[1]: when for when, text in timeline.lines if text.startswith("executing ")}
    ends = {text.split()[1]: when for when, text in timeline.lines if text.startswith("executed ")}
    end = timeline.line(r"^handout: ") or timeline.at()
    print(f"  until the first notebook: Python, imports (nbformat, nbclient, nbconvert), the first kernels started"
          f" and warmed up {min(starts.values(), default=end):5.2f} s")
    for name, began in sorted(starts.items()):
        until = ends.get(name, end)
        mine = [duration for start, duration, _ in calls if began <= start < until]
        print(f"  {name:34s} {began:5.2f}-{until:5.2f} s: {len(mine):2d} docker commands {sum(mine):5.2f} s,"
              f" the rest (kernel, imports, Python) {until - began - sum(mine):5.2f} s")
    print(f"  the handout (nbconvert HTML):                               {timeline.at() - end:5.2f} s")
    kinds: dict[str, list[float]] = {}
    for _, duration, command in calls:
        kinds.setdefault(_kind(command), []).append(duration)
    print("  docker commands by kind (count, total, mean):")
    for kind, durations in sorted(kinds.items(), key=lambda item: -sum(item[1])):
        print(f"    {kind:22s} {len(durations):3d}  {sum(durations):5.2f} s  {sum(durations) / len(durations):5.3f} s")


def _stop(lab: subprocess.Popen[str]) -> None:
    """Stop `make lab` and its JupyterLab (the bench started them in a process group of their own)."""
    if lab.poll() is None:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="labkit-first-"))
    clone, cache = work / "lab", work / "lab-cache"
    run_dir = Path(f"/tmp/mlab-{NAME}")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("LABKIT_", "VIRTUAL_ENV", "JUPYTER"))},
        "LABKIT_NAME": NAME, "LABKIT_REGISTRY_PORT": REGISTRY_PORT,
        "LABKIT_CACHE_DIR": str(cache), "LABKIT_STATE_DIR": str(work / "state"), "LABKIT_RUN_DIR": str(run_dir),
        "UV_CACHE_DIR": str(work / "uv-cache"), "PIP_CACHE_DIR": str(work / "pip-cache"),
        "JUPYTER_PORT": str(port), "JUPYTER_TOKEN": token, "JUPYTER_RUNTIME_DIR": str(work / "jupyter-runtime"),
    }
    lab: subprocess.Popen[str] | None = None
    stop = threading.Event()
    try:
        timeline = Timeline()
        ref = os.environ.get("BENCH_REF", "HEAD")
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True,
                                check=True).stdout.strip()
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", commit], check=True)
        cloned = timeline.at()
        print(f"cloned {REPO} at {commit} into {clone} ({cloned:.2f} s)", flush=True)
        _watch_processes(work, timeline, stop)
        lab = subprocess.Popen(with_default_signals(["make", "--no-print-directory", "lab"]), cwd=clone, env=env, text=True,
                               start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        echoing = threading.Event()
        echoing.set()
        _follow(lab.stdout, timeline,
                lambda line: print(f"  | {line}", flush=True) if echoing.is_set() and not line.startswith("[") else None)
        url = f"http://127.0.0.1:{port}/api/contents/{FIRST_NOTEBOOK}?content=1&token={token}"
        while not answers(url):
            if lab.poll() is not None:
                sys.exit(f"make lab exited ({lab.returncode}) before JupyterLab answered")
            time.sleep(0.05)
        first_notebook = timeline.at()
        page = answers(f"http://127.0.0.1:{port}/lab/tree/{FIRST_NOTEBOOK}?token={token}")
        print(f"JupyterLab answers with notebook {FIRST_NOTEBOOK} after {first_notebook:.2f} s (its page: "
              f"{'200' if page else 'not 200'})", flush=True)

        status = clone / "build" / "labkit-up.status"
        background = status.is_file()  # else `make lab` ran `labkit up` before starting JupyterLab
        while background and status.read_text().strip() == "running":
            time.sleep(0.1)
        up_done = timeline.at() if background else (timeline.line(r"^base image ") or first_notebook)
        if background and status.read_text().strip() != "ok":
            sys.exit(f"labkit up failed in the clone ({status.read_text().strip()}):\n"
                     + (clone / "build" / "labkit-up.log").read_text()[-2000:])
        stop.set()
        echoing.clear()
        _stop(lab)
        (work / "make-lab.log").write_text("".join(f"{when:7.2f} {text}\n" for when, text in timeline.lines))

        up_started = (timeline.line(r"^make lab: provisioning")
                      or min((first for first, _ in timeline.seen.values()), default=first_notebook))
        setup_line = timeline.line(r"^setup: installed") or up_started
        jupyter_up = timeline.line(r"Jupyter Server .* is running at") or first_notebook
        jupyter_from = setup_line if background else up_done
        print("\nWhere the cold start goes (seconds from the start of the clone):")
        print(f"  git clone                                         {cloned:6.2f}")
        for when, text in timeline.lines:
            if text.startswith("setup: installed"):
                print(f"  setup, until {when:5.2f}: {text.split(': ', 2)[-1]}")
        if not background:
            print(f"  setup (venv, packages), until {setup_line:.2f}")
        print(f"  JupyterLab server start (imports, extensions)     {jupyter_up - jupyter_from:6.2f}   (until {jupyter_up:.2f})")
        print(f"  ... until notebook 00 answers 200                 {first_notebook - jupyter_up:6.2f}   (at {first_notebook:.2f})")
        print(f"  labkit up, cold, {'in the background' if background else 'before JupyterLab '}"
              f"                {up_done - up_started:6.2f}   ({up_started:.2f} to {up_done:.2f})")
        daemons_first = timeline.seen.get("daemons", (up_done, up_done))[0]
        for phase in UP_PHASES:
            if phase in timeline.seen:
                first, last = timeline.seen[phase]
                print(f"    {phase:46s}{last - first:6.2f}   ({first:.2f} to {last:.2f})")
        print(f"    daemons start and answer; base and registry images {up_done - daemons_first:6.2f}"
              f"   ({daemons_first:.2f} to {up_done:.2f})")
        if shutil.which("runc"):
            print("    (on a new machine labkit up also installs runc and qemu-user-static; here they were already installed)")

        print("\nThe whole lab in the clone (python -m labkit.nbtools run):", flush=True)
        first_run, _ = _timed_run(clone, env)
        print(f"  first run (builds what a first run builds): {first_run:.2f} s", flush=True)
        run_warm, _ = _timed_run(clone, env)
        print(f"  warm run: {run_warm:.2f} s", flush=True)
        traced, calls = _docker_trace(clone, env, cache)
        print(f"  a third run, each docker command timed ({traced.at():.2f} s; the wrapper adds a little):")
        _split_of_run(traced, calls)
        (work / "split.json").write_text(json.dumps({"lines": traced.lines, "calls": calls}))
        print(f"first_notebook_cold_s={first_notebook:.2f} run_warm_s={run_warm:.2f}")
    finally:
        stop.set()
        if lab is not None:
            _stop(lab)
        if (clone / ".venv/bin/labkit").exists():
            subprocess.run([str(clone / ".venv/bin/labkit"), "down"], env=env, capture_output=True, check=False)
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
