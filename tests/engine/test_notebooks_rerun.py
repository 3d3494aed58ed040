"""The notebooks that change the engines' state (tags moved and put back, builders, pushes) pass nbval on their own
and again right after: a learner may run one twice, or open it first."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit import nbtools
from labkit.docker.endpoints import Endpoints

RERUN = ("05", "08")  # notebook 05 re-points demo:every on the classic store; notebook 08 the lab's base tag
NBVAL = ["--nbval", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "--nbval-current-env", "--nbval-cell-timeout=300"]


@pytest.mark.parametrize("number", RERUN)
def test_a_notebook_passes_on_its_own_twice_in_a_row(number: str, endpoints: Endpoints) -> None:
    path = next(path for path in nbtools.notebook_paths() if path.name.startswith(f"{number}_"))
    for attempt in ("first", "second"):
        ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NBVAL, str(path)],
                             cwd=nbtools.NOTEBOOKS.parent, capture_output=True, text=True, timeout=900, check=False)
        summary = ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ""
        assert ran.returncode == 0 and " passed" in summary, f"{path.name}, {attempt} run:\n{ran.stdout[-3000:]}"
