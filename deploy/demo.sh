#!/usr/bin/env bash
# The README's first command: installs what streamrec needs, builds it, and runs
# `streamrec demo` — the whole pipeline on the embedded broker: a stream of user
# events, the trainer training and publishing a model, two workers serving
# recommendations live, with the online hit rate and a summary (about a minute).
# Arguments go to `streamrec demo` (see `build/streamrec demo --help`).
# Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/streamrec demo "$@"
