#!/usr/bin/env bash
# Sourced by the action's steps: write a step output in GitHub's multi-line form
# (`name<<DELIMITER`, the value, `DELIMITER`) with a random delimiter, so that no value, whatever
# it holds, can end its own entry and add or replace another output.

# output NAME VALUE: appends the output NAME with VALUE to $GITHUB_OUTPUT.
output() {
  local name="$1" value="$2" delimiter
  delimiter="mendbot_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  if [[ "$value" == *"$delimiter"* ]]; then
    # 128 random bits: only a value that read this very delimiter could hold it.
    echo "::error title=mendbot action::the value of output '$name' holds its own delimiter"
    exit 2
  fi
  printf '%s<<%s\n%s\n%s\n' "$name" "$delimiter" "$value" "$delimiter" >>"${GITHUB_OUTPUT:?}"
}
