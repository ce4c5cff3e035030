#!/usr/bin/env bash
# `make venv`: the virtualenv with every pinned requirement, saying what it does as it goes.
# uv (a fast installer from PyPI, https://docs.astral.sh/uv/) installs the ~180 packages in
# seconds to a minute where pip takes minutes: the one on PATH, else one pip-installed into
# the virtualenv first. pip is the fallback (INFRA_REVIEW_INSTALLER=pip forces it).
set -euo pipefail
PYTHON="${1:-python3}"
VENV="${2:-.venv}"
started=$SECONDS
UV_VERSION=0.13.9  # the uv pip-installed when none is on PATH (checked here 2026-12-01)
step() { printf '== %s\n' "$*"; }
# pip warns about find-links folders of other machines' configs; not ours to fix here
quiet_pip() { "$@" 2>&1 | { grep -v 'is ignored: it is neither' || true; }; }

if [ ! -x "$VENV/bin/python" ]; then
    step "virtualenv $VENV ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi

UV=""
if [ "${INFRA_REVIEW_INSTALLER:-uv}" != pip ]; then
    if command -v uv >/dev/null 2>&1; then
        UV="$(command -v uv)"
    elif [ -x "$VENV/bin/uv" ]; then
        UV="$VENV/bin/uv"
    else
        step "uv into the virtualenv (a fast installer; INFRA_REVIEW_INSTALLER=pip skips it)"
        if quiet_pip "$VENV/bin/pip" install --progress-bar on "uv==$UV_VERSION" && [ -x "$VENV/bin/uv" ]; then
            UV="$VENV/bin/uv"
        else
            echo "   uv could not be installed: using pip"
        fi
    fi
fi

if [ -n "$UV" ]; then
    step "requirements-dev.txt with $("$UV" --version) (it prints what it resolves, downloads and installs)"
    "$UV" pip install --python "$VENV/bin/python" -r requirements-dev.txt
    "$UV" pip install --python "$VENV/bin/python" --no-deps -e .
else
    step "requirements-dev.txt with pip (one line per package; a few minutes on a cold cache)"
    quiet_pip "$VENV/bin/pip" install --progress-bar on --upgrade pip
    quiet_pip "$VENV/bin/pip" install --progress-bar on -r requirements-dev.txt
    quiet_pip "$VENV/bin/pip" install --no-deps -e .
fi
step "virtualenv ready in $((SECONDS - started)) s"
