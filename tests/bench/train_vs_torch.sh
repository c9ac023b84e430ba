#!/usr/bin/env bash
# Training throughput and time-to-target: `streamrec trainer` vs a PyTorch peer
# of the same model, loss, optimiser and batching (tests/bench/torch_peer.py),
# on the CPU, on the same file, one after the other in one run. Builds nothing:
# build/streamrec must exist (tests/bench/run builds it). Needs Debian's
# python3-torch (/usr/bin/python3).
#
#   tests/bench/train_vs_torch.sh [--input FILE] [--epochs K] [--threads N] [--cell fused|exact]
#                                 [--dropout X]
#
# Both sides get the same hyperparameters: the trainer's defaults, and the
# dropout given here (default 0.65, the trainer's) passed to both explicitly.
#
# Both train K epochs (patience K, so no early stop) with validation after each
# epoch. Throughput: predicted events / training seconds over all K epochs
# (validation excluded), each side's own count (the same split and batching, so
# the same events per epoch: the peer's count and a rough one for the trainer,
# from its log's one-decimal seconds, are printed as a check). Time to target: target = 0.9 x the lower of the two runs' best
# validation NDCG@10, so that both reach it; each side's seconds are the
# elapsed time, from the start of training to the end of the validation of
# the first epoch at or above the target — training and validation both
# counted, data loading and model building not, on both sides. Ratios are
# torch / streamrec (> 1: streamrec is faster).
#
# Threads: N (default: nproc) for both — OPENBLAS_NUM_THREADS for the trainer's
# OpenBLAS; torch.set_num_threads and OPENBLAS_NUM_THREADS (Debian's torch does
# its matrix products in the same system OpenBLAS) for the peer. Run it on an
# otherwise idle machine: with other work on the cores, torch's OpenMP threads
# slow down far more than OpenBLAS's (5x seen with --threads 2 on 2 busy cores).
#
# The last line on stdout is one JSON object.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=${STREAMREC_DATA:-$repo/../shared/data}
file=$data/amazon-beauty-s3rec/Beauty.txt
epochs=5
threads=$(nproc)
cell=fused
dropout=0.65
while [ $# -gt 0 ]; do
  case "$1" in
  --input) file=$2; shift 2 ;;
  --epochs) epochs=$2; shift 2 ;;
  --threads) threads=$2; shift 2 ;;
  --cell) cell=$2; shift 2 ;;
  --dropout) dropout=$2; shift 2 ;;
  -h|--help) sed -n "2,32p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "train_vs_torch: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
[ -x "$repo/build/streamrec" ] || { echo "train_vs_torch: build/streamrec is missing (tests/bench/run builds it)" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "train_vs_torch: $python cannot import torch (apt-get install python3-torch)" >&2; exit 2; }
[ -r "$file" ] || { echo "train_vs_torch: cannot read $file" >&2; exit 2; }

out=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-train-vs-torch.XXXXXX")
trap 'rm -rf "$out"' EXIT

OPENBLAS_NUM_THREADS=$threads "$repo/build/streamrec" trainer --input "$file" --format lines \
  --out "$out/model.srm" --curve "$out/streamrec.csv" --epochs "$epochs" --patience "$epochs" \
  --dropout "$dropout" --no-progress >"$out/streamrec.json" 2>"$out/streamrec.log"
OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$python" "$repo/tests/bench/torch_peer.py" \
  --input "$file" --epochs "$epochs" --patience "$epochs" --threads "$threads" --cell "$cell" --dropout "$dropout" \
  >"$out/torch.jsonl"

"$python" - "$file" "$epochs" "$threads" "$out" <<'EOF'
import csv, json, re, sys
file, epochs, threads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

# streamrec: the curve gives elapsed, events/s and NDCG per epoch. Every epoch
# predicts the same events, so the run's events/s (total events / total
# training seconds) is the harmonic mean of the epochs'. The epoch log lines'
# training seconds (one decimal) give the events per epoch roughly, as a check.
curve = list(csv.DictReader(open(f"{out}/streamrec.csv")))
c_epochs = [{"elapsed": float(r["elapsed_seconds"]), "eps": float(r["train_events_per_s"]),
             "ndcg": float(r["valid_ndcg10"])} for r in curve]
c_eps = len(c_epochs) / sum(1 / e["eps"] for e in c_epochs)
train_s = [float(m) for m in re.findall(r"events/s, ([0-9.]+) s training",
                                        open(f"{out}/streamrec.log").read())]
c_events = sum(e["eps"] * s for e, s in zip(c_epochs, train_s)) / max(len(train_s), 1)

lines = [json.loads(l) for l in open(f"{out}/torch.jsonl")]
t_epochs = [{"elapsed": l["elapsed_seconds"], "eps": l["events_per_s"], "ndcg": l["valid_ndcg10"],
             "events": l["events"], "seconds": l["seconds"]} for l in lines if "epoch" in l]
final = lines[-1]
t_eps = final["events_per_s"]

c_best = max(e["ndcg"] for e in c_epochs)
t_best = max(e["ndcg"] for e in t_epochs)
target = 0.9 * min(c_best, t_best)
def to_target(curve):
    return next(e["elapsed"] for e in curve if e["ndcg"] >= target)
c_tt, t_tt = to_target(c_epochs), to_target(t_epochs)
r = lambda x, n=3: round(x, n)
print(json.dumps({
    "bench": "train_vs_torch", "file": file, "epochs": epochs,
    "streamrec_events_per_s": r(c_eps, 1), "torch_events_per_s": t_eps,
    "ratio": r(c_eps / t_eps, 2),
    "target_ndcg10": r(target, 5),
    "streamrec_seconds_to_target": r(c_tt), "torch_seconds_to_target": r(t_tt),
    "time_to_target_ratio": r(t_tt / c_tt, 2),
    "streamrec_best_ndcg10": r(c_best, 5), "torch_best_ndcg10": r(t_best, 5),
    "streamrec_seconds": r(c_epochs[-1]["elapsed"]), "torch_seconds": r(t_epochs[-1]["elapsed"]),
    "streamrec_events_per_epoch_approx": round(c_events),
    "torch_events_per_epoch": t_epochs[0]["events"],
    "threads": threads, "torch": final["torch"], "torch_cell": final["cell"],
}))
EOF
