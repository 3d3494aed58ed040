"""The interrupted-build tests pass when the test run itself was started as a background job (`make test &` in a
script, say): everything such a run starts inherits SIGINT and SIGQUIT ignored, and stdin from /dev/null."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from labkit.docker.endpoints import Endpoints
from tests.support import untouched
from tests.support.signals import background_job

REPO = Path(__file__).resolve().parents[2]
INTERRUPTED = [f"tests/engine/test_faults.py::test_an_interrupted_build_leaves_nothing_half_made[{who}]"
               for who in ("terminal", "notebook")]


def test_an_interrupted_build_is_interrupted_when_the_run_is_a_background_job(endpoints: Endpoints) -> None:
    # The inner session's options are the test's own: not the outer run's snapshot, nor its PYTEST_ADDOPTS.
    env = {key: value for key, value in os.environ.items() if key not in (untouched.SNAPSHOT_VARIABLE, "PYTEST_ADDOPTS")}
    inner = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests/engine/test_faults.py",
             "-k", "interrupted"]
    result = subprocess.run(background_job(inner), cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=1200, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(r"\b2 passed\b", result.stdout) and not re.search(r"\b\d+ (failed|error)", result.stdout), output[-4000:]
    for test in INTERRUPTED:
        assert f"PASSED {test}" in result.stdout, output[-4000:]
