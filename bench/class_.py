"""Benchmark a class on this host: N learners start the whole lab at the same moment.

`labkit class up --learners N` (accounts mlab-b1…, made for the bench and removed at the end with `class down
--purge`; hub on 127.0.0.1:8020, base-image cache on 8023, folder /tmp/mlab-class-bench). Then, at one moment, every
learner logs in through the hub's form (their server starts, and with it their rootless sandbox), runs `labkit up` (which
waits for the one their server started) and every notebook of their copy in place (`python -m labkit.nbtools verify`),
each as themselves. A learner's lab time runs from that common moment to their last notebook verified.

Memory: every 2 s, the resident memory of every process of the learners' uids (their JupyterLab server and kernels,
the notebook runner, RootlessKit, slirp4netns, both dockerd and their containerd, the registry), summed;
rss_per_learner_mib is the peak of that sum divided by N. RSS counts a page shared by several processes once for each,
so the bench also prints PSS (shared pages split between their processes), the sandboxes' share of both, and both
once the lab is done (each learner's server and sandbox, idle).
Isolation: afterwards each learner tries, as themselves, to reach the next learner's daemon
sockets, their registry (127.0.0.1 and 127.0.0.2) and their first notebook; each success is a violation.

The last line is machine-readable:
    learners=… lab_p50_s=… lab_p95_s=… rss_per_learner_mib=… isolation_violations=…
"""

from __future__ import annotations

import concurrent.futures
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from labkit.system.machine import euid
from tests.support.classes import ClassLearner, course, labkit_class, learners, log_in

ENV = {"LABKIT_CLASS_PORT": "8020", "LABKIT_CLASS_PREFIX": "mlab-b", "LABKIT_CLASS_DIR": "/tmp/mlab-class-bench"}
PROBES = """
import socket, sys, urllib.request
sockets, port, notebook = sys.argv[1:3], int(sys.argv[3]), sys.argv[4]
reached = 0
for path in sockets:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path); reached += 1
    except OSError:
        pass
for host in ("127.0.0.1", "127.0.0.2"):
    try:
        urllib.request.urlopen(f"http://{host}:{port}/v2/", timeout=5); reached += 1
    except urllib.error.HTTPError:
        reached += 1
    except OSError:
        pass
try:
    open(notebook).read(1); reached += 1
except OSError:
    pass
print(reached)
"""


SANDBOX = {"rootlesskit", "slirp4netns", "dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2",
           "docker-registry", "exe", "sleep", "sh"}


def _memory(uids: set[int]) -> dict[str, int]:
    """Resident bytes (rss) and proportional bytes (pss: shared pages split between their processes) of every live
    process owned by one of these uids, in all and for the sandboxes' processes alone."""
    found = {"rss": 0, "pss": 0, "sandbox_rss": 0, "sandbox_pss": 0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid not in uids:
                continue
            rss = int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            rollup = Path(f"/proc/{entry}/smaps_rollup").read_text()
            pss = next(int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:"))
            sandbox = Path(f"/proc/{entry}/comm").read_text().strip() in SANDBOX
        except (OSError, ValueError, IndexError, StopIteration):
            continue
        found["rss"] += rss
        found["pss"] += pss
        if sandbox:
            found["sandbox_rss"] += rss
            found["sandbox_pss"] += pss
    return found


def _lab(learner: ClassLearner, url: str, start: threading.Barrier) -> tuple[float, str]:
    start.wait()
    began = time.monotonic()
    if log_in(url, learner.name) != 200:
        raise SystemExit(f"{learner.name} could not log in")
    up = learner.labkit("up", timeout=1800)
    if up.returncode != 0:
        raise SystemExit(f"{learner.name}: labkit up failed:\n{up.stdout}{up.stderr}")
    run = learner.verify()
    output = run.communicate(timeout=3600)[0]
    if run.returncode != 0:
        raise SystemExit(f"{learner.name}: the lab failed:\n{output[-3000:]}")
    per_notebook = ", ".join(line.replace(".ipynb: verified in", "").strip() for line in output.splitlines()
                             if ": verified in " in line)
    return time.monotonic() - began, per_notebook


def _violations(members: list[ClassLearner]) -> int:
    found = 0
    for index, learner in enumerate(members):
        other = members[(index + 1) % len(members)]
        if other is learner:
            break
        settings = other.settings
        result = learner.python_args(PROBES, str(settings.socket("classic")), str(settings.socket("multiarch")),
                                     str(settings.registry_port), str(other.notebooks / "00_start_here.ipynb"))
        found += int(result.stdout.strip() or 0)
    return found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main() -> None:
    if euid() != 0:
        sys.exit("bench-class runs as root: it creates the learners' accounts and starts the hub (sudo make bench-class)")
    count = int(os.environ.get("LEARNERS") or 30)
    try:
        up = labkit_class("up", "--learners", str(count), overrides=ENV, timeout=1800)
        if up.returncode != 0:
            sys.exit(f"labkit class up failed:\n{up.stdout}{up.stderr}")
        found = course(ENV)
        members = learners(found)[:count]
        uids = {learner.member.uid for learner in members}
        peak: dict[str, int] = {}
        sampling = threading.Event()

        def sample() -> None:
            while True:
                for key, value in _memory(uids).items():
                    peak[key] = max(peak.get(key, 0), value)
                if sampling.wait(2):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = threading.Barrier(count)
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            results = list(pool.map(lambda learner: _lab(learner, found.url, start), members))
        times = [seconds for seconds, _ in results]
        sampling.set()
        sampler.join()
        time.sleep(5)  # the notebook runners and their kernels gone: each learner's server and sandbox, idle
        idle = {key: value / count / 2**20 for key, value in _memory(uids).items()}
        violations = _violations(members)
        for learner, (seconds, per_notebook) in zip(members, results, strict=True):
            print(f"{learner.name}: whole lab {seconds:6.1f} s from the login ({per_notebook})")
        mib = {key: value / count / 2**20 for key, value in peak.items()}
        print(f"peak memory per learner, every process of theirs: rss {mib['rss']:.0f} MiB, pss {mib['pss']:.0f} MiB; "
              f"their sandbox's alone: rss {mib['sandbox_rss']:.0f} MiB, pss {mib['sandbox_pss']:.0f} MiB")
        print(f"idle afterwards, per learner (their server and sandbox): rss {idle['rss']:.0f} MiB, pss {idle['pss']:.0f} MiB")
        rss = mib["rss"]
        print(f"learners={count} lab_p50_s={statistics.median(times):.1f} lab_p95_s={_percentile(times, 0.95):.1f} "
              f"rss_per_learner_mib={rss:.0f} isolation_violations={violations}")
    finally:
        labkit_class("down", "--purge", overrides=ENV, timeout=1800)


if __name__ == "__main__":
    main()
