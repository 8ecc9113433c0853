#!/usr/bin/env bash
# Step 2 of the mendbot action (action.yml): install mendbot into its own virtual environment,
# from the action's checkout (the commit the workflow's `uses:` pins) or the release VERSION.
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
extra=""
if [[ "$COMMAND" == deploy ]]; then
  extra="[aws]"
fi
if [[ -n "$VERSION" ]]; then
  spec="mendbot$extra==$VERSION"
else
  spec="$GITHUB_ACTION_PATH$extra"
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
"$VENV/bin/mendbot" --version
