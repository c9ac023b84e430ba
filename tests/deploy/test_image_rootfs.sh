#!/usr/bin/env bash
# The container image's runtime stage (deploy/Dockerfile), proven without a
# Docker engine. A debootstrap bookworm minbase root filesystem (what
# debian:12-slim is made from) gets the stage's own instructions executed in it
# (its COPY of deploy/image/runtime-packages.txt, its RUN lines: apt-get install
# of exactly that list, the non-root user) and the built binary where the stage
# copies it. Then, chrooted as the stage's USER in its WORKDIR, through its
# ENTRYPOINT with a clean environment, as `docker run` would:
#   (a) --version with LD_BIND_NOW=1: every library and every symbol resolves;
#   (b) `broker` (embedded), `replay` of 5,000 synthetic events, `trainer`
#       publishing a tiny model (OpenBLAS), then the default CMD (worker,
#       exactly_once) configured by STREAMREC_* variables only: it consumes them
#       all with that model (its /metrics read with curl from outside: a chroot
#       shares the network), runs as uid 10001, stops on SIGTERM with status 0;
#       `tail` prints its recommendation lists.
# First, static checks: the stage is FROM debian:12-slim, installs from
# runtime-packages.txt only, runs as 10001:10001, ENTRYPOINT ["streamrec"],
# CMD ["worker"], EXPOSE 8080.
# Needs root (debootstrap, chroot, mount); installs debootstrap and curl when
# missing. The root filesystem is cached under $STREAMREC_BUILD/image-rootfs,
# keyed by a hash of what shapes it (runtime-packages.txt, the stage's setup
# instructions, the mirror): safe to run twice.
set -euo pipefail

: "${STREAMREC_BIN:?}" "${STREAMREC_BUILD:?}" "${STREAMREC_SOURCE:?}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -n --preserve-env=STREAMREC_BIN,STREAMREC_BUILD,STREAMREC_SOURCE,TMPDIR "$0" "$@"
  fi
  echo "FAIL: needs root (debootstrap, chroot, mount) or passwordless sudo" >&2
  exit 1
fi

dockerfile=$STREAMREC_SOURCE/deploy/Dockerfile
packages_file=$STREAMREC_SOURCE/deploy/image/runtime-packages.txt
suite=bookworm
started=$(date +%s)
say() { echo "[$(( $(date +%s) - started ))s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- the Dockerfile's runtime stage, statically ----
# One instruction per line, continuations joined and comments dropped as
# Docker reads them; only the last stage (from its FROM on).
mapfile -t stage < <(awk '
    /^[[:space:]]*(#|$)/ { next }
    { line = line $0 }
    /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
    { print line; line = "" }' "$dockerfile" |
  awk '/^FROM[[:space:]]/ { n = 0 } { s[n++] = $0 } END { for (i = 0; i < n; i++) print s[i] }')
instruction() { printf '%s\n' "${stage[@]}" | sed -n "s/^$1[[:space:]]\{1,\}//p" | tail -n 1; }
json_words() {  # an exec-form array of plain strings, one per line
  [[ $1 =~ ^\[(.*)\]$ ]] || fail "'$1' is not an exec-form array"
  tr ',' '\n' <<<"${BASH_REMATCH[1]}" | sed 's/^[[:space:]]*"//; s/"[[:space:]]*$//'
}

[[ ${stage[0]} =~ ^FROM[[:space:]]+debian:12-slim([[:space:]]|$) ]] ||
  fail "the runtime stage is '${stage[0]}', not FROM debian:12-slim"
image_user=$(instruction USER)
workdir=$(instruction WORKDIR)
mapfile -t entrypoint < <(json_words "$(instruction ENTRYPOINT)")
mapfile -t cmd < <(json_words "$(instruction CMD)")
[ "$image_user" = 10001:10001 ] || fail "USER is '$image_user', not 10001:10001"
[[ $workdir == /* ]] || fail "WORKDIR '$workdir' is not absolute"
[ "${entrypoint[*]}" = streamrec ] || fail "ENTRYPOINT is '${entrypoint[*]}', not [\"streamrec\"]"
[ "${cmd[*]}" = worker ] || fail "CMD is '${cmd[*]}', not [\"worker\"]"
instruction EXPOSE | grep -qw 8080 || fail "no EXPOSE 8080"
installs=$(printf '%s\n' "${stage[@]}" | grep 'apt-get install' || true)
if [ "$(grep -c . <<<"$installs")" -ne 1 ] || ! grep -qF "\$(grep -v '^#' /tmp/runtime-packages.txt)" <<<"$installs"; then
  fail "the runtime stage must install with one apt-get install of \$(grep -v '^#' /tmp/runtime-packages.txt): $installs"
fi
printf '%s\n' "${stage[@]}" | grep -qx 'COPY deploy/image/runtime-packages.txt /tmp/runtime-packages.txt' ||
  fail "the runtime stage does not COPY deploy/image/runtime-packages.txt to /tmp/runtime-packages.txt"
mapfile -t packages < <(grep -v '^#' "$packages_file")
for p in "${packages[@]}"; do
  [[ $p =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || fail "runtime-packages.txt: '$p' is not one package name"
done
[[ " ${packages[*]} " == *" ca-certificates "* ]] || fail "runtime-packages.txt lacks ca-certificates"

# The instructions that shape the root filesystem (replayed below when it is
# built), up to the binary's COPY, which must come after them.
setup=() binary_copied='' user_set=''
for line in "${stage[@]:1}"; do
  read -r op rest <<<"$line"
  case $op in
    ARG|COPY|RUN|WORKDIR)
      [ -z "$binary_copied" ] || [ "$op" = WORKDIR ] || fail "'$line' comes after the binary's COPY"
      [ -z "$user_set" ] || [ "$op" != RUN ] || fail "'$line' comes after USER: this check runs RUN as root"
      if [[ $op == COPY && $rest == --from=* ]]; then
        [[ $rest =~ [[:space:]]/usr/local/bin/streamrec$ ]] || fail "'$line' does not install /usr/local/bin/streamrec"
        binary_copied=1
      else
        setup+=("$line")
      fi ;;
    USER) user_set=1 ;;
    EXPOSE|LABEL|ENTRYPOINT|CMD) ;;
    *) fail "instruction '$op' in the runtime stage: this check cannot replay it" ;;
  esac
done
[ -n "$binary_copied" ] || fail "the runtime stage has no COPY --from=build ... /usr/local/bin/streamrec"
say "Dockerfile runtime stage: ${stage[0]}; USER $image_user; WORKDIR $workdir;" \
  "ENTRYPOINT [\"${entrypoint[*]}\"] CMD [\"${cmd[*]}\"]; installs runtime-packages.txt: ${packages[*]}"

# ---- tools ----
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian mirror apt uses here (first URI whose path ends in $1).
host_mirror() {
  { sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
  } | grep -E "/$1/?\$" | head -n 1 | sed 's:/*$::' || true
}
mirror=$(host_mirror debian); mirror=${mirror:-http://deb.debian.org/debian}
security=$(host_mirror debian-security); security=${security:-http://deb.debian.org/debian-security}

# ---- the root filesystem, cached ----
mkdir -p "$STREAMREC_BUILD/image-rootfs"
cache=$(realpath "$STREAMREC_BUILD/image-rootfs")
exec 9>"$cache/lock"
flock -w 600 9 || fail "another run holds $cache/lock"
work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-image.XXXXXX")
mounted='' broker_pid='' worker_pid=''

unmount_under() {  # every mount at or below $1, deepest first
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
# /proc, and /dev when debootstrap could not make its nodes (inside a container,
# say); no /sys, as a container without privileges sees little of it either.
mount_runtime() {
  mounted=$1
  mount -t proc proc "$1/proc"
  [ -c "$1/dev/null" ] || mount --bind /dev "$1/dev"
}
cleanup() {
  local status=$? pid log
  for pid in "$worker_pid" "$broker_pid"; do
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$mounted" ]; then unmount_under "$mounted"; fi
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -s "$log" ] && { echo "--- last lines of $(basename "$log")"; tail -n 15 "$log"; }
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

key=$({ echo "$suite $mirror $security"; cat "$packages_file"; printf '%s\n' "${setup[@]}"; } |
  sha256sum | cut -c 1-16)
rootfs=$cache/rootfs-$key
shopt -s nullglob
for old in "$cache"/*/; do  # other keys and interrupted builds; never crosses a mount
  old=${old%/}
  [ "$old" = "$rootfs" ] && continue
  unmount_under "$old"
  rm -rf --one-file-system "$old"
done
shopt -u nullglob

# root_argv ROOT USER DIR ENV... -- COMMAND...: sets argv to run COMMAND in ROOT
# with a clean environment, like a container's; chroot and env exec it, so a
# background "${argv[@]}" & has its pid.
root_argv() {
  local root=$1 user=$2 dir=$3 env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  shift 3
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  argv=(chroot --userspec="$user" "$root" /usr/bin/env -i -C "$dir" "${env[@]}" "$@")
}
in_root() { root_argv "$@"; "${argv[@]}"; }

build_rootfs() {
  local dir=$cache/building-$key line op rest wd=/ args=(HOME=/root) src dst
  say "debootstrap --variant=minbase $suite $mirror (cold cache)"
  mounted=$dir
  debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap failed"
  rm -f "$dir"/var/cache/apt/archives/*.deb "$dir/etc/apt/sources.list"
  # The sources of debian:12-slim, on this machine's mirror.
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: %s\n\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' \
    "$mirror" "$suite" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg \
    "$security" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg >"$dir/etc/apt/sources.list.d/debian.sources"
  mount_runtime "$dir"
  for line in "${setup[@]}"; do
    read -r op rest <<<"$line"
    say "  $line"
    case $op in
      ARG) [[ $rest == *=* ]] || fail "ARG without a value: $line"; args+=("$rest") ;;
      WORKDIR) wd=$rest; mkdir -p "$dir$wd" ;;
      COPY)
        read -r src dst <<<"$rest"
        [[ $dst == /* && $src != *' '* ]] || fail "cannot replay '$line' (one source, an absolute target)"
        if [[ $dst == */ ]]; then mkdir -p "$dir$dst"; fi
        cp "$STREAMREC_SOURCE/$src" "$dir$dst" ;;
      RUN) in_root "$dir" 0:0 "$wd" "${args[@]}" -- /bin/sh -c "$rest" >>"$work/setup.log" 2>&1 ||
             fail "'$line' failed in the root filesystem" ;;
    esac
  done
  unmount_under "$dir"
  mounted=''
  mv "$dir" "$rootfs"
}
if [ -d "$rootfs" ]; then say "cached root filesystem $rootfs"; else build_rootfs; fi
say "root filesystem ready: $(du -sh --one-file-system "$rootfs" | cut -f 1)"

# ---- the image, run ----
install -m 0755 "$STREAMREC_BIN" "$rootfs/usr/local/bin/streamrec"
find "$rootfs/tmp" "$rootfs$workdir" -mindepth 1 -delete  # a previous run's files
mount_runtime "$rootfs"
passwd=$(chroot "$rootfs" getent passwd "${image_user%%:*}") || fail "no user ${image_user%%:*} in the image"
IFS=: read -r name _ uid gid _ home _ <<<"$passwd"
[ "$uid:$gid" = "$image_user" ] || fail "user $name is $uid:$gid, USER says $image_user"
[ "$(stat -c %u "$rootfs$workdir")" = "$uid" ] || fail "WORKDIR $workdir is not owned by $name"
# image_argv ARGS...: argv of `docker run IMAGE ARGS...` (USER, WORKDIR,
# ENTRYPOINT; no ARGS: CMD) with the variables of image_env.
image_env=()
image_argv() {
  local args=("$@")
  [ $# -gt 0 ] || args=("${cmd[@]}")
  root_argv "$rootfs" "$image_user" "$workdir" HOME="$home" "${image_env[@]}" -- "${entrypoint[@]}" "${args[@]}"
}
image() { image_argv "$@"; "${argv[@]}"; }

# (a) every library and symbol resolves: LD_BIND_NOW binds them all at start.
path=$(in_root "$rootfs" "$image_user" "$workdir" -- /bin/sh -c 'command -v streamrec')
[ "$path" = /usr/local/bin/streamrec ] || fail "the ENTRYPOINT resolves to '$path'"
image_env=(LD_BIND_NOW=1)
version=$(image --version 2>"$work/version.log") || fail "streamrec --version does not run in the image"
if ! [[ $version =~ ^streamrec\ [0-9]+\.[0-9]+\.[0-9]+\ \(.+\)$ ]] || [ "$version" != "$("$STREAMREC_BIN" --version)" ]; then
  fail "--version printed '$version'"
fi
say "(a) as $name ($image_user) in $workdir: $path --version = $version (LD_BIND_NOW=1)"

# (b) the pipeline on the embedded broker, every process from the image.
image_env=()
image_argv broker --partitions 4 --bootstrap-file /tmp/bootstrap
"${argv[@]}" >"$work/broker.out" 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 300); do
  bootstrap=$(cat "$rootfs/tmp/bootstrap" 2>/dev/null || true)
  [[ $bootstrap =~ ^127\.0\.0\.1:[0-9]+$ ]] && break
  kill -0 "$broker_pid" 2>/dev/null || fail "the broker exited"
  sleep 0.1
done
[[ $bootstrap =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "no bootstrap address from the broker within 30 s"
image_env=(STREAMREC_BOOTSTRAP="$bootstrap")
events=5000
replayed=$(image replay --format synthetic --users 500 --items 200 --events "$events" --seed 3 \
  --no-progress 2>"$work/replay.log") || fail "replay failed"
grep -q "($events delivered, 0 failed)" <<<"$replayed" || fail "replay: $replayed"
trained=$(image trainer --topic user-events --out model.srm --publish --embed-dim 8 --hidden-dim 8 \
  --epochs 1 --seed 5 --no-progress 2>"$work/trainer.log") || fail "trainer failed"
model_version=$(sed -n 's/.*"model_version":\([0-9]*\).*/\1/p' <<<"$trained")
if [ -z "$model_version" ] || [ "$(stat -c %u "$rootfs$workdir/model.srm")" != "$uid" ]; then
  fail "trainer: no model file written by $name: $trained"
fi
say "(b) broker $bootstrap; $replayed; trainer published model $model_version ($workdir/model.srm)"

image_env+=(STREAMREC_HTTP_PORT=0 STREAMREC_GROUP_ID=image-smoke)
image_argv
"${argv[@]}" >"$work/worker.out" 2>"$work/worker.log" &
worker_pid=$!
port=''
for _ in $(seq 300); do
  port=$(sed -n 's/.*"msg":"serving \/healthz.* on port \([0-9][0-9]*\)".*/\1/p' "$work/worker.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$worker_pid" 2>/dev/null || fail "the worker exited"
  sleep 0.1
done
[ -n "$port" ] || fail "the worker does not serve HTTP within 30 s"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$worker_pid/status")" = "$uid" ] || fail "the worker does not run as uid $uid"
metric() { awk -v n="$1" '$1 == n { print $2 }' "$work/metrics"; }
deadline=$(( $(date +%s) + 60 ))
until curl -sf -m 5 -o "$work/metrics" "http://127.0.0.1:$port/metrics" &&
      [ "$(metric streamrec_records_consumed_total)" = "$events" ] &&
      [ "$(metric streamrec_scorings_total)" -gt 0 ] 2>/dev/null; do
  [ "$(date +%s)" -le "$deadline" ] || fail "the worker did not consume and score the $events events within 60 s"
  kill -0 "$worker_pid" 2>/dev/null || fail "the worker exited"
  sleep 0.2
done
[ "$(metric streamrec_model_version)" = "$model_version" ] || fail "the worker serves model $(metric streamrec_model_version)"
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] || fail "/readyz is not 200"
say "(b) worker (CMD, uid $uid) on :$port: $(grep -E '^streamrec_(records_consumed|events|steps|scorings|recommendations)_total ' "$work/metrics" | tr '\n' ' ')"

kill -TERM "$worker_pid"
status=0
timeout 20 tail --pid="$worker_pid" -f /dev/null || fail "the worker still runs 20 s after SIGTERM"
wait "$worker_pid" || status=$?
worker_pid=''
[ "$status" -eq 0 ] || fail "the worker exited $status after SIGTERM"
summary=$(tail -n 1 "$work/worker.log")
grep -q "\"msg\":\"stopped after .*: $events records" <<<"$summary" || fail "the worker's last line: $summary"
summary=${summary#*\"msg\":\"}
say "(b) SIGTERM: exit 0; ${summary%%\"*}"

image tail --topic user-recommendations --from-beginning --exit-at-end >"$work/lists.out" 2>"$work/tail.log" ||
  fail "tail failed"
lists=$(grep -c "\"model_version\":$model_version,.*\"items\":\[{\"item_id\"" "$work/lists.out" || true)
[ "$lists" -gt 0 ] || fail "tail shows no recommendation lists from model $model_version"
published=$(metric streamrec_recommendations_total)
say "(b) tail: $lists lists from model $model_version (the worker published $published), e.g. $(head -n 1 "$work/lists.out" | cut -c 1-160)..."

kill -TERM "$broker_pid"
status=0
wait "$broker_pid" || status=$?
broker_pid=''
[ "$status" -eq 0 ] || fail "the broker exited $status after SIGTERM"
say "PASS: the runtime stage runs streamrec as $name ($image_user)"
