#!/usr/bin/env bash
# The command line's promises: --help, --version, per-command --help, and exit
# status 2 naming the problem for an unknown command or option.
set -uo pipefail
bin=$1
failures=0
check() {  # check DESCRIPTION EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  local what=$1 want=$2 text=$3
  shift 4
  local out status
  out=$("$@" 2>&1)
  status=$?
  if [ "$status" -ne "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL: $what: status $status (want $want), output: $out"
    failures=$((failures + 1))
  fi
}
check "--help lists commands" 0 "commands:" -- "$bin" --help
check "--version" 0 "streamrec " -- "$bin" --version
check "no arguments" 2 "usage:" -- "$bin"
check "unknown command" 2 "'frobnicate' is not a command" -- "$bin" frobnicate
for cmd in $("$bin" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
  check "$cmd --help" 0 "usage: streamrec $cmd" -- "$bin" "$cmd" --help
  check "help $cmd" 0 "usage: streamrec $cmd" -- "$bin" help "$cmd"
  check "$cmd with a bad option" 2 "usage: streamrec $cmd" -- "$bin" "$cmd" --no-such-option
done
check "broker bad partitions" 2 "--partitions" -- "$bin" broker --partitions 0
echo "cli: $failures failed"
[ "$failures" -eq 0 ]
