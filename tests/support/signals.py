"""Children that a test or a benchmark signals start with the signals' default actions, whatever this run inherited.

An ignored signal stays ignored across fork and exec: a non-interactive shell runs a background job (`make test &`
in a script, say) with SIGINT and SIGQUIT ignored, and `nohup` ignores SIGHUP. A build started by such a run would
never be interrupted by the SIGINT a test sends it. Only the standard library is used here, so that a benchmark run
by any interpreter, without the lab's packages, can use it too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# Run by this interpreter, isolated and without site packages (quick to start), before it becomes the command.
# SIGPIPE and SIGXFSZ are put back too: the interpreter ignores them from its start, and the command gets them at
# their default action, as Popen gives them.
_RESET = """
import os, signal, sys
signals = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)
for number in (*signals, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(number, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as error:
    sys.stderr.write(f"{sys.argv[1]}: {error}\\n")
    os._exit(127)
"""


def with_default_signals(argv: Sequence[str]) -> list[str]:
    """The command line that runs argv with SIGINT, SIGTERM, SIGQUIT and SIGHUP taking their default action (they end it),
    neither ignored nor blocked as this process may have inherited them.

    A small interpreter sets them and then becomes argv: the same process, so the pid that Popen gives is argv's (its
    session and process group too). A `preexec_fn` would do it in the forked child instead, which is unsafe where
    threads run. Until that interpreter has become argv (a few milliseconds) the signals are still as inherited.
    """
    return [sys.executable, "-I", "-S", "-c", _RESET, *argv]


def background_job(argv: Sequence[str]) -> list[str]:
    """The command line that runs argv as a non-interactive shell runs `argv &`: with SIGINT and SIGQUIT ignored and
    stdin from /dev/null. It exits as argv does (128 + the signal's number when a signal ended argv)."""
    return ["sh", "-c", '"$@" & wait "$!"', "sh", *argv]
