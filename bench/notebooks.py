"""Per-notebook timings of a full run: `python -m labkit.nbtools run` (every notebook in order, each in a fresh
kernel, against the sandbox, as `make run` does), each notebook timed from its `executing` line to the next one.

    make bench-notebooks            # NB_ROUNDS=N rounds (3 by default); the median and range per notebook

Its last line is `notebooks_total_s=… rounds=…` (the median of the whole runs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run() -> tuple[dict[str, float], float]:
    """Seconds per notebook, and the whole run's (the handout included)."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "labkit.nbtools", "run"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    marks: list[tuple[float, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(("executing ", "handout: ")):
            marks.append((time.monotonic(), line.split()[1] if line.startswith("executing ") else ""))
    if process.wait() != 0:
        sys.exit("the whole lab failed: run `make run` to see where")
    times = {name: marks[n + 1][0] - when for n, (when, name) in enumerate(marks[:-1]) if name}
    return times, time.monotonic() - started


def main() -> None:
    rounds = int(os.environ.get("ROUNDS", "3"))
    runs = [one_run() for _ in range(rounds)]
    print("| notebook | median (s) | range (s) |\n| --- | ---: | ---: |")
    for name in runs[0][0]:
        values = [times[name] for times, _ in runs]
        print(f"| `{name}` | {statistics.median(values):.1f} | {min(values):.1f}–{max(values):.1f} |")
    totals = [total for _, total in runs]
    print(f"| whole run (kernels, handout included) | {statistics.median(totals):.1f} | {min(totals):.1f}–{max(totals):.1f} |")
    print(f"notebooks_total_s={statistics.median(totals):.1f} rounds={rounds}")


if __name__ == "__main__":
    main()
