"""The lab's GitHub Actions workflow pushes and merges with the very strings notebook 08's CI step runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from labkit.steps import ci_pattern

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "multi-platform.yml"


def test_the_workflow_builds_with_the_steps_push_by_digest_output() -> None:
    text = WORKFLOW.read_text()
    assert f"outputs: {ci_pattern.by_digest_output('${{ env.REGISTRY_IMAGE }}')}\n" in text


def test_the_workflow_merges_with_the_steps_command_and_runs_on_native_runners() -> None:
    text = WORKFLOW.read_text()
    assert " ".join(ci_pattern.MERGE) + ' -t "$REGISTRY_IMAGE:latest"' in text
    assert "runner: ubuntu-24.04-arm" in text and "runner: ubuntu-24.04\n" in text
    assert "docker/setup-buildx-action@v4" in text and "docker/build-push-action@v7" in text


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored GitHub Actions workflow schema (SchemaStore's), offline."""
    program = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(program), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_workflow_is_a_valid_github_actions_workflow(tmp_path: Path) -> None:
    checked = _validate(WORKFLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("    runs-on: ${{ matrix.runner }}\n", "    run-on: ${{ matrix.runner }}\n"))
    assert _validate(broken).returncode != 0, "the validator passes a job with no runs-on"
