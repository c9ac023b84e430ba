#!/usr/bin/env bash
# What a model swap costs in quality, and which state policy the worker should
# use (keep hidden states, or recompute them from the recent-items window):
# trains model A on a dataset, then two successors — B fine-tuned from A
# (`trainer --init`, what continuous training publishes) and C trained from
# scratch with another seed (a retrain) — and runs bench_swap_quality for
# A -> B and A -> C. Test items, full ranking, the quality.sh protocol.
#
#   tests/bench/swap_quality.sh [--input FILE] [--epochs N]
#
# The last line on stdout is one JSON object.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=${STREAMREC_DATA:-$repo/../shared/data}
file=$data/amazon-beauty-s3rec/Beauty.txt
epochs=5
while [ $# -gt 0 ]; do
  case "$1" in
  --input) file=$2; shift 2 ;;
  --epochs) epochs=$2; shift 2 ;;
  *) echo "swap_quality: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
bin=$repo/build/streamrec
out=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-swap-quality.XXXXXX")
trap 'rm -rf "$out"' EXIT
train() { "$bin" trainer --input "$file" --format lines --no-progress --log-level warn --epochs "$epochs" "$@"; }

train --out "$out/a.srm" --seed 1 >/dev/null
train --out "$out/b.srm" --seed 2 --init "$out/a.srm" --epochs "$(( (epochs + 1) / 2 ))" --lr 0.001 >/dev/null
train --out "$out/c.srm" --seed 2 >/dev/null
echo "A -> B (fine-tuned from A):"
"$repo/build/bench/bench_swap_quality" --input "$file" --old "$out/a.srm" --new "$out/b.srm" | tee "$out/finetuned.jsonl"
echo "A -> C (retrained from scratch):"
"$repo/build/bench/bench_swap_quality" --input "$file" --old "$out/a.srm" --new "$out/c.srm" | tee "$out/retrained.jsonl"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
res = {"bench": "swap_quality"}
for name in ("finetuned", "retrained"):
    for line in open(f"{out}/{name}.jsonl"):
        r = json.loads(line)
        k = r["events_after_swap"]
        res[f"{name}_after{k}"] = {w: r[w]["ndcg@10"] for w in ("old", "new", "recompute", "keep")}
print(json.dumps(res))
PY
