#!/usr/bin/env bash
# Step 1 of the mendbot action (action.yml): check the inputs, find Python 3.11+, and choose
# where mendbot's virtual environment lives and whether it may come from the cache.
# Reads COMMAND, CACHE, VERSION, PYTHON; writes the outputs venv, cache and cache-key.
set -euo pipefail

fail() {
  echo "::error title=mendbot action::$1"
  exit 2
}

case "$COMMAND" in
  analyze | propose | gate | deploy | revert) ;;
  *) fail "input 'command' must be analyze, propose, gate, deploy or revert" ;;
esac
case "$CACHE" in
  auto | false) ;;
  *) fail "input 'cache' must be auto or false" ;;
esac
if [[ -n "$VERSION" && ! "$VERSION" =~ ^[0-9][0-9A-Za-z.+!-]*$ ]]; then
  fail "input 'version' must be a release number such as 1.2.0"
fi
if ! command -v "$PYTHON" >/dev/null; then
  fail "input 'python': no interpreter named $PYTHON on this runner (actions/setup-python installs one)"
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  fail "input 'python': mendbot needs Python 3.11 or later ($("$PYTHON" --version 2>&1))"
fi

venv="${RUNNER_TEMP:?}/mendbot-venv"
python_version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ -n "$VERSION" ]]; then
  source_id="release-$VERSION"
else
  # The action's own code: the cache is never shared between two versions of it.
  source_id="$(cd "$GITHUB_ACTION_PATH" && find pyproject.toml bot -type f \( -name '*.py' -o -name '*.toml' -o -name '*.yml' -o -name '*.json' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
fi
cache=false
if [[ "$CACHE" == auto && "$COMMAND" == analyze ]]; then
  cache=true
fi
{
  echo "venv=$venv"
  echo "cache=$cache"
  echo "cache-key=mendbot-venv-${RUNNER_OS:-unknown}-py$python_version-$source_id"
} >>"${GITHUB_OUTPUT:?}"
