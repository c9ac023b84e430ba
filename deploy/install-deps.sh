#!/usr/bin/env bash
# Installs the Debian packages streamrec needs to build, test and run.
# Idempotent: when every package is already installed it does nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libjansson-dev libopenblas-dev
  check libsubunit-dev
  clang libclang-rt-14-dev
  maven openjdk-17-jre-headless
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
