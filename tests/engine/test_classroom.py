"""A class on this host, for real: `labkit class up --learners 3`, three learners logged in through the hub, the whole
lab run by all three at once through their own rootless sandboxes, and the walls between them.

Each learner's server starts their sandbox (first use); then every notebook of each learner's copy is run in place, as
them, all three at the same moment (`python -m labkit.nbtools verify`), and `labkit class status` must show every
notebook verified for each.

The isolation checks try, as learner B, everything that would reach learner A: A's daemon sockets, A's registry by every
loopback address and from inside B's own rootless namespaces, A's notebooks and state; the class's base-image cache
serves every learner's daemons and takes no push; one learner's runaway build, `labkit down` and crash leave the others
working; a server stopped as the idle culler stops it takes its learner's sandbox down with it. `labkit class down
--purge` ends it: no process of a learner left, the accounts the class made removed.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit.engines.rootless as rootless
from labkit import nbtools
from labkit.classroom import accounts, guard, hub
from labkit.docker.endpoints import Endpoints
from labkit.engines import DAEMONS
from labkit.settings import Settings
from labkit.system import processes
from tests.support.classes import ClassLearner, course, labkit_class, learners, log_in, status_rows
from tests.support.emulation import registered_only
from tests.support.runs import wait_for
from tests.support.signals import with_default_signals

LEARNERS = 3
PROBE = textwrap.dedent("""
    import sys, urllib.request
    host, port, method = sys.argv[1], sys.argv[2], sys.argv[3]
    path = "/v2/" if method == "GET" else "/v2/probe/blobs/uploads/"
    request = urllib.request.Request(f"http://{host}:{port}{path}", method=method, data=b"" if method == "POST" else None)
    try:
        print(urllib.request.urlopen(request, timeout=5).status)
    except urllib.error.HTTPError as error:
        print(error.code)
    except OSError as error:
        print(type(error).__name__)
""")


def _probe(learner: ClassLearner, host: str, port: int, method: str = "GET", inside: bool = False) -> str:
    """What `method` on a registry answers to this learner: an HTTP status, or the error (from inside their namespaces
    when `inside`)."""
    argv = [str(learner.course.python), "-c", PROBE, host, str(port), method]
    if inside:
        holder = rootless.namespace_holder(learner.settings)
        assert holder is not None, f"{learner.name}'s RootlessKit does not run"
        argv = ["nsenter", f"--target={holder}", "--user", "--net", "--preserve-credentials", "--", *argv]
    result = learner.run(argv, timeout=60)
    return result.stdout.strip() or result.stderr.strip()[-200:]


@pytest.fixture(scope="module")
def klass(endpoints: Endpoints, settings: Settings) -> Iterator[list[ClassLearner]]:
    """Three learners of a class, each logged in through the hub with their server and sandbox up. The class starts
    from a machine where root never ran `labkit up`: no QEMU entry of the lab's registered (`class up` registers them
    all, and the learners' whole lab proves it)."""
    with registered_only(settings) as removed:
        assert removed, "the machine had no emulator to remove: nothing was tested"
        yield from _klass()


def _klass() -> Iterator[list[ClassLearner]]:
    try:
        up = labkit_class("up", "--learners", str(LEARNERS))
        assert up.returncode == 0, up.stdout + up.stderr
        found = course()
        members = learners(found)
        assert [one.name for one in members] == [f"mlab-c{index}" for index in range(1, LEARNERS + 1)]
        with concurrent.futures.ThreadPoolExecutor(LEARNERS) as pool:
            assert list(pool.map(lambda one: log_in(found.url, one.name), members)) == [200] * LEARNERS
        wait_for(lambda: all(row[:2] == ["ready", "up"] for row in status_rows().values()), 600,
                 "every learner's server and sandbox", every=1)
        yield members
    finally:
        labkit_class("down", "--purge")


def test_three_learners_run_the_whole_lab_at_once(klass: list[ClassLearner]) -> None:
    every = f"{len(nbtools.notebook_paths())}/{len(nbtools.notebook_paths())}"
    runs = [learner.verify() for learner in klass]
    outputs = [run.communicate(timeout=1200)[0] for run in runs]
    for learner, run, output in zip(klass, runs, outputs, strict=True):
        assert run.returncode == 0 and f"verified: {every}" in output, f"{learner.name}:\n{output[-3000:]}"
    rows = status_rows()
    assert {name: (row[0], row[1], row[3]) for name, row in rows.items()} == {
        learner.name: ("ready", "up", every) for learner in klass}


def test_a_learner_cannot_reach_another_learners_daemon_sockets(klass: list[ClassLearner]) -> None:
    owner, other = klass[0], klass[1]
    for daemon in DAEMONS:
        sock = owner.settings.socket(daemon)
        code = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(sock)!r}); print('connected')"
        assert owner.python(code).stdout.strip() == "connected"
        refused = other.python(code)
        assert refused.returncode != 0 and "PermissionError" in refused.stderr, refused.stdout + refused.stderr


def test_a_learner_cannot_read_or_push_to_another_learners_registry_by_any_address(klass: list[ClassLearner]) -> None:
    owner, other = klass[0], klass[1]
    port = owner.settings.registry_port
    assert _probe(owner, "127.0.0.1", port) == "200"
    assert "mlab_class_" in guard.rules(course().name)
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        for method in ("GET", "POST"):
            answer = _probe(other, host, port, method)
            assert not answer.isdigit(), f"{other.name} got HTTP {answer} from {owner.name}'s registry at {host}"
    # From inside B's rootless namespaces the host's loopback is 10.0.2.2: the class's cache answers, A's registry not.
    assert _probe(other, accounts.SLIRP_HOST, course().cache_port, inside=True) == "200"
    for method in ("GET", "POST"):
        assert not _probe(other, accounts.SLIRP_HOST, port, method, inside=True).isdigit()


def test_a_learner_cannot_read_another_learners_notebooks_or_state(klass: list[ClassLearner]) -> None:
    owner, other = klass[0], klass[1]
    settings = owner.settings
    for path in (owner.notebooks / "00_start_here.ipynb", settings.docker_config / "config.json",
                 settings.state_dir / "registry" / "config.yml"):
        assert owner.run(["cat", str(path)]).returncode == 0, path
        assert other.run(["cat", str(path)]).returncode != 0, f"{other.name} read {path}"
    for folder in (owner.notebooks, settings.state_dir, settings.run_dir):
        assert other.run(["ls", str(folder)]).returncode != 0, f"{other.name} listed {folder}"


def test_the_class_cache_serves_every_learner_and_takes_no_push(klass: list[ClassLearner]) -> None:
    cache_port = course().cache_port
    log = (course().cache_dir / "log").read_text()
    assert "GET /v2/library/busybox/manifests/" in log
    learner = klass[2]
    assert learner.docker("multiarch", "pull", "-q", "busybox:latest").returncode == 0
    assert _probe(learner, "127.0.0.1", cache_port, "POST") in ("405", "503")
    target = f"{accounts.SLIRP_HOST}:{cache_port}/library/learner-push:latest"
    assert learner.docker("multiarch", "tag", "busybox:latest", target).returncode == 0
    pushed = learner.docker("multiarch", "push", target)
    assert pushed.returncode != 0, pushed.stdout
    assert "405 Method Not Allowed" in pushed.stderr, pushed.stderr  # refused by the registry itself, not unreachable


def test_each_learners_engine_runs_with_the_class_process_limit(klass: list[ClassLearner]) -> None:
    for learner in klass:
        spec = rootless.RootlessEngine(learner.settings).spec_of("multiarch")
        pid = int(spec.pid_file.read_text())
        limits = Path(f"/proc/{pid}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max processes"))
        assert line.split()[2:4] == ["4096", "4096"], line


def test_a_runaway_build_of_one_learner_leaves_the_others_working(klass: list[ClassLearner], tmp_path: Path) -> None:
    runaway, others = klass[0], klass[1:]
    spin = "while :; do :; done"
    build = runaway.command([str(runaway.settings.bin_dir / "docker"), "-H", f"unix://{runaway.settings.socket('classic')}",
                             "run", "--rm", "busybox", "sh", "-c", f"({spin}) & ({spin}) & ({spin}) & wait"],
                            DOCKER_CONFIG=str(runaway.settings.docker_config))
    spinning = subprocess.Popen(with_default_signals(build), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_for(lambda: bool(runaway.docker("classic", "ps", "-q").stdout.strip()), 120, f"{runaway.name}'s runaway container", every=1)
        for learner in others:
            done = learner.docker("multiarch", "run", "--rm", "--platform", "linux/arm64", "busybox", "uname", "-m")
            assert done.returncode == 0 and done.stdout.strip() == "aarch64", done.stdout + done.stderr
            assert learner.labkit("status").returncode == 0
    finally:
        os.killpg(spinning.pid, signal.SIGTERM)
        spinning.wait(timeout=60)
        runaway.docker("classic", "rm", "-f", *runaway.docker("classic", "ps", "-q").stdout.split())


def test_one_learners_down_and_crash_leave_the_others_working(klass: list[ClassLearner]) -> None:
    downed, crashed, working = klass
    assert downed.labkit("down").returncode == 0
    holder = processes.owned_pid(rootless.rootlesskit_spec(crashed.settings))
    assert holder is not None
    os.kill(holder, signal.SIGKILL)
    wait_for(lambda: status_rows()[crashed.name][1] != "up", 60, f"{crashed.name}'s sandbox to show it crashed", every=1)
    rows = status_rows()
    assert rows[downed.name][1] == "down" and rows[working.name][:2] == ["ready", "up"], rows
    assert working.labkit("status").returncode == 0
    assert working.docker("multiarch", "run", "--rm", "busybox", "true").returncode == 0
    assert crashed.labkit("up").returncode == 0  # `labkit up` puts a crashed sandbox back
    assert status_rows()[crashed.name][1] == "up"


def test_a_stopped_server_stops_its_learners_sandbox(klass: list[ClassLearner]) -> None:
    """What the idle culler does to an idle learner: DELETE their server through the hub's API."""
    learner, found = klass[2], course()
    request = urllib.request.Request(f"{found.url}/hub/api/users/{learner.name}/server", method="DELETE",
                                     headers={"Authorization": f"token {hub.api_token(found)}"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status in (202, 204)
    wait_for(lambda: status_rows()[learner.name][:2] == ["stopped", "down"], 120, f"{learner.name}'s sandbox to stop", every=1)
    assert rootless.namespace_holder(learner.settings) is None


def test_class_down_purge_leaves_nothing_of_the_class(klass: list[ClassLearner]) -> None:
    uids = [learner.member.uid for learner in klass]
    done = labkit_class("down", "--purge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped the hub" in done.stdout and "removed the account mlab-c1" in done.stdout
    assert guard.rules(course().name) == ""
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _uid(int(pid)) in uids]
    assert left == [], left
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", course().hub_port)) != 0
    assert not course().folder.exists()


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
