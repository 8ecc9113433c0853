#!/usr/bin/env bash
# Step 2 of the mendbot action (action.yml): install mendbot into its own virtual environment,
# from the action's checkout (the commit the workflow's `uses:` pins) or the release VERSION.
# A restored environment is used as it is. Reads COMMAND, VERSION, PYTHON, VENV.
set -euo pipefail

if [[ -x "$VENV/bin/mendbot" ]]; then
  echo "mendbot is already installed in $VENV"
  exit 0
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
