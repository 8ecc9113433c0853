#!/usr/bin/env bash
# Step 2 of the mendbot action (action.yml): install mendbot into its own virtual environment,
# from the action's checkout (the commit the workflow's `uses:` pins) with the dependencies its
# hash-pinned lock names, or the release VERSION.
# Reads COMMAND, VERSION, PYTHON, VENV and CACHE (`true` when step 1 let this job restore the
# cache: a read-only analysis that cannot sign). Only then is an environment already at VENV
# used as it is; in every other job it is replaced by a fresh install, whoever left it.
set -euo pipefail

if [[ "$CACHE" == true && -x "$VENV/bin/mendbot" ]]; then
  echo "mendbot is already installed in $VENV"
  exit 0
fi
if [[ -e "$VENV" || -L "$VENV" ]]; then
  echo "Replacing the environment found at $VENV with a fresh install"
  rm -rf "$VENV"
fi
"$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
if [[ -n "$VERSION" ]]; then
  extra=""
  if [[ "$COMMAND" == deploy ]]; then
    extra="[aws]"
  fi
  "${pip[@]}" "mendbot$extra==$VERSION"
else
  # Every dependency, and the build backend, at the version and with the digests the action's
  # lock names (pip-compile --generate-hashes, action/requirements*.txt): whatever an index or
  # a PIP_* variable offers instead is refused, and only wheels are taken, so no package's build
  # script runs. mendbot itself is then built from the pinned checkout with those alone.
  lock="$GITHUB_ACTION_PATH/action/requirements.txt"
  if [[ "$COMMAND" == deploy ]]; then
    lock="$GITHUB_ACTION_PATH/action/requirements-aws.txt"
  fi
  "${pip[@]}" --require-hashes --only-binary=:all: --no-deps -r "$lock"
  "${pip[@]}" --no-index --no-deps --no-build-isolation "$GITHUB_ACTION_PATH"
fi
"$VENV/bin/mendbot" --version
