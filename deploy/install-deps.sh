#!/usr/bin/env bash
# Installs the Debian packages streamrec needs to build, test and run.
# Idempotent: when every package is already installed it does nothing.
# Generic package names where Debian has them (default-jre-headless is Java 17
# on Debian 12, which CI runs), so newer releases work unchanged.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libjansson-dev libopenblas-dev libmicrohttpd-dev
  libssl-dev libisal-dev
  check libsubunit-dev
  clang
  maven default-jre-headless
  python3
  curl
  debootstrap # tests/deploy/test_image_rootfs.sh: the image's runtime stage without Docker
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || {
    echo "install-deps: run as root, or with sudo available, to install packages" >&2
    exit 1
  }
  sudo_cmd=(sudo)
fi

updated=
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$updated" ]; then
    "${sudo_cmd[@]}" apt-get update -qq
    updated=1
  fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_missing "${packages[@]}"

# libFuzzer's runtime comes per clang major version: match the installed clang.
major=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
[ -n "$major" ] || { echo "install-deps: cannot tell clang's major version" >&2; exit 1; }
install_missing "libclang-rt-$major-dev"
