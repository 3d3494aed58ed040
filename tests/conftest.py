"""Fixtures shared by the test layers, and two checks that fail the whole run whatever the tests say.

- No silent skips: a skipped, xfailed or xpassed test (a notebook cell under nbval included) fails the run and is
  named. In this lab a test proves its claim or fails.
- The user's `~/.docker` and `/etc/docker` are as they were before the lab ran anything: compared, at the end of the
  session, with the snapshot file named by LABKIT_TEST_UNTOUCHED (`make test` writes it before `labkit up`), or
  without it with a snapshot taken when the session starts. What changed is named.

Both checks live in one plugin registered for the whole session: a conftest's own hooks only see the tests under
its folder, and the notebooks are not under tests/.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import engines
from labkit.docker.endpoints import Endpoints
from labkit.settings import Settings
from tests.support import untouched

DATA = Path(__file__).parent / "data"
WATCHED = untouched.WATCHED
CHECKS = "labkit-session-checks"


def tree_hash(root: Path) -> str:
    """One hash of every path under root: type, mode, owner, content, symlink target ('absent' when missing)."""
    return untouched.digest(untouched.tree(root))


class SessionChecks:
    """Collects every test that did not simply pass or fail, and watches the user's Docker folders."""

    def __init__(self) -> None:
        source = os.environ.get(untouched.SNAPSHOT_VARIABLE, "")
        if source and not Path(source).is_file():
            raise pytest.UsageError(f"{untouched.SNAPSHOT_VARIABLE}={source} names no snapshot file; "
                                    "`make test` writes it with `python3 -m tests.support.untouched FILE` before `labkit up`.")
        self.baseline_source = source or "the start of the session"
        self.baseline = untouched.read(Path(source)) if source else untouched.take()
        self.not_run: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.not_run.append(f"SKIPPED (at collection) {report.nodeid}: {_reason(report)}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(report, "wasxfail"):
            if report.skipped or (report.passed and report.when == "call"):
                outcome = "XFAILED" if report.skipped else "XPASSED"
                self.not_run.append(f"{outcome} {report.nodeid}: {report.wasxfail or 'marked xfail'}")
        elif report.skipped:
            self.not_run.append(f"SKIPPED {report.nodeid}: {_reason(report)}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        problems = []
        if self.not_run:
            problems.append(("skipped or xfailed tests (not allowed in this lab: a test proves its claim or fails)",
                             self.not_run))
        changed = untouched.changes(self.baseline, untouched.take(Path(root) for root in self.baseline))
        if changed:
            problems.append((f"the user's Docker folders changed since {self.baseline_source}", changed))
        if not problems:
            return
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for title, lines in problems:
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_sep("=", f"FAILED: {title}", red=True, bold=True)
                for line in lines:
                    reporter.write_line(line)
            else:
                print(f"FAILED: {title}", *lines, sep="\n", file=sys.stderr)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def pytest_configure(config: pytest.Config) -> None:
    """Register the session's checks once, as a plugin that sees every test of the run."""
    if not config.pluginmanager.has_plugin(CHECKS):
        config.pluginmanager.register(SessionChecks(), CHECKS)


ENGINE_FOLDERS = (Path(__file__).parent / "engine", Path(__file__).parent / "browser")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `engine` marker, by where a test lives: tests/engine and tests/browser run against the real sandbox, and so
    does every notebook cell under nbval. `make unit` deselects them (`-m "not engine"`); `make test` runs them all.
    Tests marked `last` run after all the others, notebooks included."""
    for item in items:
        if item.path.suffix == ".ipynb" or any(item.path.is_relative_to(folder) for folder in ENGINE_FOLDERS):
            item.add_marker(pytest.mark.engine)
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)  # stable: the rest keep their order


def _checks(config: pytest.Config) -> SessionChecks:
    checks = config.pluginmanager.get_plugin(CHECKS)
    assert isinstance(checks, SessionChecks)
    return checks


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The sandbox's settings (whatever LABKIT_MODE says: these tests are about the sandbox)."""
    return Settings.from_env({**os.environ, "LABKIT_MODE": "sandbox"})


@pytest.fixture(scope="session")
def untouched_before(pytestconfig: pytest.Config) -> dict[str, str]:
    """Hashes of the user's Docker folders from the session's baseline (before `labkit up` under `make test`)."""
    return {root: untouched.digest(root_tree) for root, root_tree in _checks(pytestconfig).baseline.items()}


@pytest.fixture(scope="session")
def endpoints(settings: Settings, untouched_before: dict[str, str]) -> Iterator[Endpoints]:
    """The real sandbox, started when needed. A sandbox that cannot start fails the tests; it never skips them."""
    yield engines.choose(settings).up()
