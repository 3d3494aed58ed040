#!/bin/sh
# Install the lab's locked Python packages into a virtual environment: `scripts/setup.sh [EXTRAS]`.
#
# EXTRAS is a comma-separated list of the package's extras (`test,dev`, `class`); none gives what the notebooks need to
# run. constraints.txt pins every package, for every platform, to the versions the stored outputs were made with.
#
# One installer and one fallback: uv (the uv on PATH, else uv $UV_VERSION put into the venv by pip); when uv cannot
# be had or fails, pip installs the same set. The script says which one it used and how long each part took.
# uv leaves the bytecode to be compiled at first import (pip compiles it while installing): the script compiles it in
# the background, so that JupyterLab can start meanwhile.
set -u
cd "$(dirname "$0")/.."
EXTRAS=${1:-}
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
LOCK=${LOCK:-constraints.txt}
UV_VERSION=${UV_VERSION:-0.13.9}
BYTECODE_LOG=${BYTECODE_LOG:-build/bytecode.log}
# uv reads certificates from its own bundle unless told to use the system's store, as pip does: behind a proxy that
# intercepts TLS (a company's or university's network), only the system's store holds the proxy's CA (uv 0.13's name
# for the setting; older uv calls it UV_NATIVE_TLS). uv never downloads a Python of its own for the lab.
export UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1
TARGET=.${EXTRAS:+[$EXTRAS]}
what="the locked packages${EXTRAS:+ with [$EXTRAS]}"

now() { date +%s%N; }
seconds() { echo "$(( $1 / 1000000000 )).$(( $1 / 100000000 % 10 )) s"; }

started=$(now)
uv=$(command -v uv || true)
if [ -n "$uv" ]; then
  how="uv $("$uv" --version | cut -d' ' -f2), found on PATH"
  "$uv" venv --quiet --allow-existing --python "$PYTHON" "$VENV" || uv=
elif [ "$("$VENV/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" = "$UV_VERSION" ]; then
  how="uv $UV_VERSION, already in $VENV"; uv=$VENV/bin/uv
else
  how="uv $UV_VERSION, installed into $VENV by pip"; uv=$VENV/bin/uv
  { "$PYTHON" -m venv "$VENV" && "$VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"; } || uv=
fi
ready=$(now)
if [ -n "$uv" ] && ! "$uv" pip install --quiet --python "$VENV/bin/python" -c "$LOCK" -e "$TARGET"; then
  uv=
fi
if [ -z "$uv" ]; then
  echo "setup: uv could not be had or failed to install; falling back to pip"
  how=pip
  [ -x "$VENV/bin/pip" ] || "$PYTHON" -m venv "$VENV" || exit 1
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$LOCK" -e "$TARGET" || exit 1
fi
done=$(now)
echo "setup: installed $what ($LOCK) into $VENV with $how:" \
  "venv and installer $(seconds $(( ready - started ))), packages $(seconds $(( done - ready )))"
if [ -n "$uv" ]; then
  mkdir -p "$(dirname "$BYTECODE_LOG")"
  echo "setup: compiling the packages' bytecode in the background (log: $BYTECODE_LOG)"
  purelib=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  nice -n 19 "$VENV/bin/python" -m compileall -q -j 0 labkit "$purelib" > "$BYTECODE_LOG" 2>&1 &
fi
