"""The one way the lab runs the system's programs, and the one error when one fails."""

from __future__ import annotations

import pytest

from labkit.errors import LabError
from labkit.system import run


def test_a_program_that_fails_says_what_the_lab_was_doing_the_command_its_code_and_output() -> None:
    with pytest.raises(run.CommandFailed) as failed:
        run.check(["sh", "-c", "echo partial; echo 'E: Unable to locate package nosuch' >&2; exit 100"],
                  "Installing nosuch with apt", "Run `apt-get update`, then try again.")
    error = failed.value
    assert isinstance(error, LabError) and error.ran.returncode == 100
    assert error.what == ("Installing nosuch with apt failed: `sh -c 'echo partial; echo '\"'\"'E: Unable to locate "
                          "package nosuch'\"'\"' >&2; exit 100'` exited with 100: E: Unable to locate package nosuch")
    assert error.next_step == "Run `apt-get update`, then try again."


def test_a_missing_program_is_exit_127_and_a_long_output_is_quoted_from_its_end() -> None:
    missing = run.run(["no-such-program-of-the-lab"])
    assert (missing.ok, missing.returncode, missing.stderr) == (False, 127, "no-such-program-of-the-lab: command not found")
    long = run.run(["sh", "-c", "seq 1 2000 >&2; exit 3"])
    assert long.tail().endswith("2000") and len(long.tail()) == run.TAIL


def test_output_in_order_with_stdin_and_bytes() -> None:
    merged = run.run(["sh", "-c", "read line; echo out $line; echo err >&2"], stdin="in\n", merge=True)
    assert merged.ok and merged.stdout == "out in\nerr\n" and merged.stderr == ""
    assert run.output_bytes(["printf", "\\x00\\x01"], "Reading bytes", "-") == b"\x00\x01"
