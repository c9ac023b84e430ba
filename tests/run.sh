#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and the README's second command.
# Installs what it needs, then: a Release build with the unit and the
# integration tests (against a real Kafka broker that the tests start), a
# sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer) with the unit
# tests, and a bounded libFuzzer run of every fuzz target. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
started=$(date +%s)

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
deploy/install-deps.sh
deploy/kafka/fetch.sh >/dev/null

step "release build: unit, integration and deployment tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -L 'unit|integration|deploy' --output-on-failure

step "sanitizer build (ASan + UBSan): unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTREAMREC_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure

step "fuzzing (libFuzzer, ${STREAMREC_FUZZ_SECONDS:-60} s per target)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSTREAMREC_SANITIZE=ON -DSTREAMREC_FUZZ=ON \
  -DSTREAMREC_FUZZ_SECONDS="${STREAMREC_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_targets
ctest --test-dir build-fuzz -L fuzz --output-on-failure

echo
echo "all tests passed in $(( $(date +%s) - started )) s"
