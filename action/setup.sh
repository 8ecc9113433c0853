#!/usr/bin/env bash
# Step 1 of the mendbot action (action.yml): check the inputs, find Python 3.11+, and choose
# where mendbot's virtual environment lives and whether it may come from the cache.
# Reads COMMAND, CACHE, VERSION, PYTHON, EVENT_PR and the INPUT_* values; writes the outputs
# venv, cache and cache-key. Nothing is installed or run when an input is refused.
set -euo pipefail
# shellcheck source=action/outputs.sh
source "$GITHUB_ACTION_PATH/action/outputs.sh"

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

# Values that name one thing (a path, a number, a commit, a choice): a line break there is a
# mistake (a YAML `|` block ends with one) or an attempt to smuggle lines into what the action
# writes, so it is refused, naming the input and never echoing its value. `paths` and `args`
# are lists (any blanks and line breaks separate their words); `reason` is prose.
one_line_inputs=(
  config bundle-out sign sarif annotations fail-on-findings bundles rollback-sha environment
  identity issuer repository-id verify-key pr all-open merge-group-sha deploy-command sha plan
  record-out target
)
for name in "${one_line_inputs[@]}"; do
  variable="INPUT_${name//-/_}"
  variable="${variable^^}"
  if [[ "${!variable-}" == *[[:cntrl:]]* ]]; then
    fail "input '$name' must be a single line without control characters (a YAML block such as '$name: |' adds a line break at the end: write the value on the line of its key)"
  fi
done
for name in annotations fail-on-findings all-open; do
  variable="INPUT_${name//-/_}"
  variable="${variable^^}"
  case "${!variable-}" in
    true | false) ;;
    *) fail "input '$name' must be true or false" ;;
  esac
done

# What each command cannot run without: refused here, before a minute goes into installing.
case "$COMMAND" in
  propose)
    if [[ -n "$INPUT_ROLLBACK_SHA" && -z "$INPUT_ENVIRONMENT" ]]; then
      fail "input 'rollback-sha' needs input 'environment'"
    fi
    ;;
  gate)
    if [[ "$INPUT_ALL_OPEN" != true && -z "${INPUT_PR:-${EVENT_PR-}}" ]]; then
      fail "no pull request for the gate: set input 'pr', or 'all-open: true'"
    fi
    ;;
  revert)
    if [[ -z "$INPUT_TARGET" ]]; then
      fail "input 'target' names the remediation to revert"
    fi
    ;;
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

# A job that can sign must never run code someone else could have put in the cache: the
# signature is what propose, the gate and deploy trust. It can sign when it holds
# `id-token: write` (the runner then sets ACTIONS_ID_TOKEN_REQUEST_URL), writes bundles or is
# told how to sign, in the inputs or in `args`.
signing=""
if [[ -n "${ACTIONS_ID_TOKEN_REQUEST_URL-}" ]]; then
  signing="the job holds id-token: write"
elif [[ -n "${INPUT_BUNDLE_OUT-}" ]]; then
  signing="input 'bundle-out' is set"
elif [[ -n "${INPUT_SIGN-}" && "${INPUT_SIGN-}" != none ]]; then
  signing="input 'sign' is set"
else
  read -r -d '' -a words <<<"${INPUT_ARGS-}" || true
  for word in "${words[@]}"; do
    if [[ "$word" == --bundle-out* || "$word" == --sign* ]]; then
      signing="input 'args' holds ${word%%=*}"
      break
    fi
  done
fi

venv="${RUNNER_TEMP:?}/mendbot-venv"
python_version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ -n "$VERSION" ]]; then
  source_id="release-$VERSION"
else
  # The action's own code: the cache is never shared between two versions of it.
  source_id="$(cd "$GITHUB_ACTION_PATH" && find pyproject.toml bot -type f \( -name '*.py' -o -name '*.toml' -o -name '*.yml' -o -name '*.json' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
fi
# Only a read-only analysis may run what a cache restored: any workflow on the default branch
# can write a cache entry under this predictable key first. Every job that can sign, push,
# open pull requests, decide the required status or deploy runs only the mendbot it installed
# itself, in this very step, and never one an earlier step left at the same path.
fresh=""
if [[ -n "$signing" ]]; then
  fresh="$signing, so this job can sign"
else
  case "$COMMAND" in
    propose | revert) fresh="the propose identity pushes branches and opens pull requests" ;;
    gate) fresh="the gate's decision is the required status that lets pull requests merge" ;;
    deploy) fresh="the deploy identity changes what it deploys to" ;;
    analyze) [[ "$CACHE" == auto ]] || fresh="input 'cache' is false" ;;
  esac
fi
cache=false
if [[ -n "$fresh" ]]; then
  echo "mendbot is installed afresh from its pinned source, never from a cache: $fresh."
else
  cache=true
fi
output venv "$venv"
output cache "$cache"
output cache-key "mendbot-venv-${RUNNER_OS:-unknown}-py$python_version-$source_id"
