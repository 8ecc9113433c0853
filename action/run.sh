#!/usr/bin/env bash
# Step 3 of the mendbot action (action.yml): run one identity with the inputs (INPUT_*), and
# write the step outputs, the job summary and, for analyze, the annotations and SARIF.
# Input values are passed as separate words and never evaluated by the shell: option values
# as `--option=VALUE` and positional values after `--`, so that no value is taken for an option.
# Outputs are written by `output` (action/outputs.sh), never as `name=value` lines.
set -euo pipefail
# shellcheck source=action/outputs.sh
source "$GITHUB_ACTION_PATH/action/outputs.sh"

mendbot="$VENV/bin/mendbot"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
temp="${RUNNER_TEMP:?}"
# Lists: words separated by blanks or line breaks (a YAML block is one word per line).
read -r -d '' -a extra <<<"$INPUT_ARGS" || true

trust=()
if [[ -n "$INPUT_VERIFY_KEY" ]]; then
  trust+=("--verify-key=$INPUT_VERIFY_KEY")
fi
if [[ -n "$INPUT_IDENTITY" ]]; then
  trust+=("--identity=$INPUT_IDENTITY" "--issuer=$INPUT_ISSUER")
  trust+=("--repository-id=${INPUT_REPOSITORY_ID:-$EVENT_REPOSITORY_ID}")
fi

# Runs "$@" and keeps its exit code in $code without stopping the script.
code=0
run() {
  set +e
  "$@"
  code=$?
  set -e
}

# The number of the pull request mendbot's text output (file $1) says it opened or found open.
pull_request_number() {
  sed -n 's/^\(opened\|already open:\) #\([0-9]*\).*/\2/p' "$1" | head -n 1
}

# Writes mendbot's exit code as the output `exit-code` and ends the step: with that code, or
# with $step_code when it is set (analyze's findings do not fail the step by default).
step_code=""
finish() {
  output exit-code "$code"
  if ((code > 1)); then
    echo "::error title=mendbot $COMMAND::mendbot exited with $code; its message is above"
  fi
  exit "${step_code:-$code}"
}

case "$COMMAND" in
  analyze)
    read -r -d '' -a paths <<<"$INPUT_PATHS" || true
    sarif="${INPUT_SARIF:-$temp/mendbot.sarif}"
    args=("--extra-report=json=$temp/mendbot-report.json")
    args+=("--extra-report=sarif=$sarif" "--extra-report=text=$temp/mendbot-report.txt")
    if [[ -n "$INPUT_CONFIG" ]]; then
      args+=("--config=$INPUT_CONFIG")
    fi
    if [[ -n "$INPUT_BUNDLE_OUT" ]]; then
      args+=("--bundle-out=$INPUT_BUNDLE_OUT")
      output bundles "$INPUT_BUNDLE_OUT"
    fi
    if [[ -n "$INPUT_SIGN" ]]; then
      args+=("--sign=$INPUT_SIGN")
    fi
    format=text
    if [[ "$INPUT_ANNOTATIONS" == true ]]; then
      format=github
    fi
    run "$mendbot" analyze "${args[@]}" --format "$format" "${extra[@]}" -- "${paths[@]}"
    if ((code > 1)); then
      finish
    fi
    findings="$("$VENV/bin/python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$temp/mendbot-report.json")"
    output findings "$findings"
    output sarif "$sarif"
    {
      echo "### mendbot analyze: $findings finding(s)"
      echo
      echo '```text'
      cat "$temp/mendbot-report.txt"
      echo '```'
    } >>"$summary"
    if [[ "$INPUT_FAIL_ON_FINDINGS" != true ]]; then
      step_code=0
    fi
    ;;
  propose)
    if [[ -n "$INPUT_ROLLBACK_SHA" ]]; then
      # action/setup.sh refused a rollback without its environment.
      run "$mendbot" propose "--rollback=$INPUT_ROLLBACK_SHA" "--env=$INPUT_ENVIRONMENT" --forge github "${extra[@]}" >"$temp/mendbot-rollback.txt"
      cat "$temp/mendbot-rollback.txt"
      output pull-requests "$(pull_request_number "$temp/mendbot-rollback.txt")"
      finish
    fi
    shopt -s nullglob
    bundles=("$INPUT_BUNDLES"/*/)
    if ((${#bundles[@]} == 0)); then
      echo "No bundle under $INPUT_BUNDLES: nothing to propose."
      output pull-requests ""
      finish
    fi
    run "$mendbot" propose --forge github "${trust[@]}" --format json "${extra[@]}" -- "${bundles[@]}" >"$temp/mendbot-propose.json"
    if ((code <= 1 || code == 3)); then
      numbers="$("$VENV/bin/python" -c 'import json, sys; print(" ".join(str(o["pull_request"]) for o in json.load(open(sys.argv[1]))["outcomes"] if o["pull_request"] is not None))' "$temp/mendbot-propose.json")"
      output pull-requests "$numbers"
      {
        echo "### mendbot propose"
        echo
        "$VENV/bin/python" -c 'import json, sys
for o in json.load(open(sys.argv[1]))["outcomes"]:
    print("- %s %s: %s" % (o["status"], o["remediation_id"] or o["bundle"], o["message"]))' "$temp/mendbot-propose.json"
      } >>"$summary"
    fi
    ;;
  gate)
    args=(--forge github "${trust[@]}" --format json)
    if [[ "$INPUT_ALL_OPEN" == true ]]; then
      args+=(--all-open)
    else
      # action/setup.sh refused a gate run without a pull request.
      args+=("--pr=${INPUT_PR:-$EVENT_PR}")
    fi
    if [[ -n "$INPUT_MERGE_GROUP_SHA" ]]; then
      args+=("--merge-group-sha=$INPUT_MERGE_GROUP_SHA")
    fi
    run "$mendbot" gate "${args[@]}" "${extra[@]}" >"$temp/mendbot-gate.json"
    cat "$temp/mendbot-gate.json"
    if [[ "$INPUT_ALL_OPEN" != true ]] && ((code <= 1)); then
      decision="$("$VENV/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("decision", ""))' "$temp/mendbot-gate.json")"
      output decision "$decision"
    fi
    ;;
  revert)
    # action/setup.sh refused a revert without its target.
    if [[ -n "$INPUT_BUNDLE_OUT" ]]; then
      # The signing half: read-only, no forge; `command: propose` opens the pull request.
      args=("--bundle-out=$INPUT_BUNDLE_OUT")
      if [[ -n "$INPUT_SIGN" ]]; then
        args+=("--sign=$INPUT_SIGN")
      fi
      run "$mendbot" revert "--reason=$INPUT_REASON" "${args[@]}" "${extra[@]}" -- "$INPUT_TARGET"
      output bundles "$INPUT_BUNDLE_OUT"
      finish
    fi
    run "$mendbot" revert "--reason=$INPUT_REASON" --forge github "${extra[@]}" -- "$INPUT_TARGET" >"$temp/mendbot-revert.txt"
    cat "$temp/mendbot-revert.txt"
    output pull-requests "$(pull_request_number "$temp/mendbot-revert.txt")"
    ;;
  deploy)
    case "$INPUT_DEPLOY_COMMAND" in
      plan)
        args=("--sha=$INPUT_SHA" --forge github "${trust[@]}" "--out=$INPUT_PLAN")
        run "$mendbot" deploy plan "${args[@]}" "${extra[@]}"
        ;;
      apply)
        args=("--plan=$INPUT_PLAN" --forge github "${trust[@]}" "--record-out=$INPUT_RECORD_OUT")
        if [[ -n "$INPUT_SIGN" ]]; then
          args+=("--sign=$INPUT_SIGN")
        fi
        run "$mendbot" deploy apply "${args[@]}" "${extra[@]}"
        ;;
      observe)
        args=(--forge github "${trust[@]}" "--record-out=$INPUT_RECORD_OUT")
        if [[ -n "$INPUT_SIGN" ]]; then
          args+=("--sign=$INPUT_SIGN")
        fi
        run "$mendbot" deploy observe "${args[@]}" "${extra[@]}"
        ;;
      verify-record) run "$mendbot" deploy verify-record "${extra[@]}" ;;
      *)
        echo "::error title=mendbot deploy::input 'deploy-command' must be plan, apply, observe or verify-record"
        code=2
        ;;
    esac
    ;;
esac
finish
