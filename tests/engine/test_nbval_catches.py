"""nbval is not a formality: a stored output edited to a wrong value fails the run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from labkit import nbtools
from labkit.engine.endpoints import Endpoints


def _nbval(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(nbtools.NOTEBOOKS / "sanitize.cfg"), str(path)],
        capture_output=True, text=True, timeout=300, cwd=path.parent, check=False,
    )


def test_nbval_fails_when_a_stored_output_is_wrong(lab: Endpoints, tmp_path: Path) -> None:
    source = nbtools.NOTEBOOKS / "01_the_dockerfile.ipynb"
    honest = tmp_path / "honest.ipynb"
    shutil.copy(source, honest)
    assert _nbval(honest).returncode == 0

    notebook = nbformat.read(source, as_version=4)
    edited = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "Hello from multi-arch image" in output.get("text", ""):
                output.text = output.text.replace("multi-arch", "single-arch")
                edited += 1
    assert edited == 1
    tampered = tmp_path / "tampered.ipynb"
    nbformat.write(notebook, tampered)
    result = _nbval(tampered)
    assert result.returncode != 0
    assert "single-arch" in result.stdout
