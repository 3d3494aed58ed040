"""Per-notebook timings of a full run: `python -m labkit.nbtools run` (every notebook, each in a fresh kernel, against
the sandbox, as `make run` does: 00-02 and 03-04 side by side, then the rest), each notebook as the runner times it.

    make bench-notebooks            # NB_ROUNDS=N rounds (3 by default); the median and range per notebook

Its last line is `notebooks_total_s=… rounds=…` (the median of the whole runs).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = re.compile(r"^executed (\S+) in ([0-9.]+) s$")


def one_run() -> tuple[dict[str, float], float]:
    """Seconds per notebook (as the runner reports each, from its first cell to its last), and the whole run's."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "labkit.nbtools", "run"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    times = {}
    for line in process.stdout:
        if found := EXECUTED.match(line):
            times[found.group(1)] = float(found.group(2))
    if process.wait() != 0:
        sys.exit("the whole lab failed: run `make run` to see where")
    return dict(sorted(times.items())), time.monotonic() - started


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
