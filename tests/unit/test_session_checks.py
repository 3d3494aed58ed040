"""The session's own rules, proven by running pytest on tiny test files and notebooks in a folder of the test's own.

That folder is laid out like the lab (a copy of tests/conftest.py in tests/, notebooks beside it), so the checks
are seen to reach tests outside the conftest's folder, as nbval's notebook cells are.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import untouched

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    # The inner session's options are the test's own: not the outer run's snapshot, nor its PYTEST_ADDOPTS.
    env = {key: value for key, value in os.environ.items() if key not in (untouched.SNAPSHOT_VARIABLE, "PYTEST_ADDOPTS")}
    return {**env, "PYTHONPATH": str(REPO)}


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)


def _lab_like(tmp_path: Path, files: dict[str, str]) -> Path:
    """A folder with the lab's tests/conftest.py, an empty pytest.ini and the given files."""
    (tmp_path / "tests").mkdir()
    shutil.copyfile(REPO / "tests" / "conftest.py", tmp_path / "tests" / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


TINY = {
    "skip called": ("import pytest\n\ndef test_tiny():\n    pytest.skip('no engine here')\n", "SKIPPED"),
    "skip marker": ("import pytest\n\n@pytest.mark.skip(reason='later')\ndef test_tiny():\n    pass\n", "SKIPPED"),
    "skipif marker": ("import pytest\n\n@pytest.mark.skipif(True, reason='not here')\ndef test_tiny():\n    pass\n", "SKIPPED"),
    "xfail marker": ("import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_tiny():\n    assert False\n", "XFAILED"),
    "xfail called": ("import pytest\n\ndef test_tiny():\n    pytest.xfail('known')\n", "XFAILED"),
    "xpass": ("import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_tiny():\n    pass\n", "XPASSED"),
    "skip in a fixture": ("import pytest\n\n@pytest.fixture()\ndef engine():\n    pytest.skip('no engine')\n\n"
                          "def test_tiny(engine):\n    pass\n", "SKIPPED"),
}


def test_a_skipped_or_xfailed_test_fails_the_run_and_each_is_named(tmp_path: Path) -> None:
    files = {f"tests/test_{kind.replace(' ', '_')}.py": "def test_passes():\n    pass\n\n" + text
             for kind, (text, _) in TINY.items()}
    result = _pytest(_lab_like(tmp_path, files), "-p", "no:nbval", "tests")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED: skipped or xfailed tests" in result.stdout
    named = result.stdout.split("FAILED: skipped or xfailed tests")[1]
    for kind, (_, outcome) in TINY.items():
        assert f"{outcome} tests/test_{kind.replace(' ', '_')}.py::test_tiny" in named, (kind, result.stdout)
    assert "test_passes" not in named


def test_a_module_skipped_at_collection_fails_the_run_and_is_named(tmp_path: Path) -> None:
    text = "import pytest\n\npytest.skip('whole module', allow_module_level=True)\n\ndef test_tiny():\n    pass\n"
    folder = _lab_like(tmp_path, {"tests/test_tiny.py": text, "tests/test_other.py": "def test_passes():\n    pass\n"})
    result = _pytest(folder, "-p", "no:nbval", "tests")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SKIPPED (at collection) tests/test_tiny.py" in result.stdout, result.stdout


def test_a_run_that_only_passes_still_passes(tmp_path: Path) -> None:
    folder = _lab_like(tmp_path, {"tests/test_tiny.py": "def test_passes():\n    pass\n"})
    result = _pytest(folder, "-p", "no:nbval", "tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED:" not in result.stdout


def _notebook(*cells: tuple[str, str]) -> str:
    """A notebook of code cells (source, stored stdout)."""
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell{number}", "metadata": {}, "source": source,
                   "execution_count": number + 1 if stdout else None,
                   "outputs": [{"output_type": "stream", "name": "stdout", "text": stdout}] if stdout else []}
                  for number, (source, stdout) in enumerate(cells)],
    })


def test_a_notebook_cell_nbval_skips_fails_the_run_and_is_named(tmp_path: Path) -> None:
    notebook = _notebook(("print(6 * 7)", "42\n"), ("# NBVAL_SKIP\nprint('not checked')", ""))
    folder = _lab_like(tmp_path, {"tests/test_tiny.py": "def test_passes():\n    pass\n",
                                  "notebooks/tiny.ipynb": notebook})
    result = _pytest(folder, "tests", "notebooks", "--nbval", "--nbval-current-env")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SKIPPED notebooks/tiny.ipynb::Cell 1" in result.stdout, result.stdout
    assert "notebooks/tiny.ipynb::Cell 0" not in result.stdout.split("FAILED: skipped or xfailed tests")[1]


def _collected(*selections: str) -> list[list[str]]:
    """The test ids `pytest --collect-only -m SELECTION tests` selects, for each selection (run side by side)."""
    runs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval",
                              "--collect-only", "-m", selection, "tests"], cwd=REPO, env=_env(), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for selection in selections]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), outputs
    return [[line for line in stdout.splitlines() if "::" in line] for stdout, _ in outputs]


def test_every_engine_test_carries_the_engine_marker_and_no_other_test_does() -> None:
    engine, other = _collected("engine", "not engine")  # `make unit` runs the second
    engine_folders = ("tests/engine/", "tests/browser/")  # the browser test drives JupyterLab on the real sandbox
    assert len(engine) > 20 and all(line.startswith(engine_folders) for line in engine)
    assert other and not any(line.startswith(engine_folders) for line in other)
    assert "tests/engine/test_isolation.py::test_docker_host_and_docker_config_are_ignored[tcp]" in engine


def test_an_unknown_marker_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text("import pytest\n\n@pytest.mark.engien\ndef test_tiny():\n    pass\n")
    result = _pytest(REPO, "-p", "no:nbval", "-c", str(REPO / "pyproject.toml"), str(tmp_path / "test_tiny.py"))
    assert result.returncode != 0
    assert "'engien' not found in `markers` configuration option" in result.stdout + result.stderr
