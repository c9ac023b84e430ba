#!/usr/bin/env bash
# Quality on the shared datasets, as the model/trainer issue measures it: for
# each file and seed, `streamrec trainer` with its default settings, then
# `streamrec eval` on the test items with the full-ranking protocol and the
# sampled one (99 uniform negatives, or LastFM's shipped negatives file).
# One JSON line per (file, seed), then a summary line with the ratios to the
# published SASRec figures. Needs ../shared/data; writes into $OUT (a temp dir).
#
#   tests/bench/quality.sh [SEEDS] [FILES...]     e.g. tests/bench/quality.sh "1 2 3" beauty
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=${STREAMREC_DATA:-$repo/../shared/data}
bin=$repo/build/streamrec
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/streamrec-quality.XXXXXX")}
seeds=${1:-"1 2 3"}
shift || true
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(beauty sports toys yelp lastfm)

declare -A path=(
  [beauty]=amazon-beauty-s3rec/Beauty.txt [sports]=amazon-sports-s3rec/Sports_and_Outdoors.txt
  [toys]=amazon-toys-s3rec/Toys_and_Games.txt [yelp]=yelp-s3rec/Yelp.txt [lastfm]=lastfm-s3rec/LastFM.txt)
# Published SASRec full-ranking HR@10 / NDCG@10 on these files (S3-Rec paper).
declare -A sasrec=([beauty]="0.0605 0.0318" [sports]="0.0350 0.0192" [toys]="0.0675 0.0374"
                   [yelp]="0.0274 0.0136" [lastfm]="0.0688 0.0390")

field() { grep -o "\"$1\":[0-9.e-]*" <<<"$2" | head -n 1 | cut -d: -f2; }

for name in "${files[@]}"; do
  file=$data/${path[$name]}
  for seed in $seeds; do
    model=$out/$name-$seed.srm
    started=$(date +%s)
    train=$("$bin" trainer --input "$file" --format lines --out "$model" --curve "$out/$name-$seed.csv" \
              --seed "$seed" --no-progress 2>"$out/$name-$seed.log")
    seconds=$(( $(date +%s) - started ))
    # --mask-repeated-target: S3-Rec's masking (only Yelp has repeated targets).
    full=$("$bin" eval --model "$model" --input "$file" --format lines --protocol full --mask-repeated-target 2>/dev/null)
    if [ "$name" = lastfm ]; then
      sampled=$("$bin" eval --model "$model" --input "$file" --format lines --protocol sampled \
                  --negatives-file "$data/lastfm-s3rec/LastFM_sample.txt" 2>/dev/null)
    else
      sampled=$("$bin" eval --model "$model" --input "$file" --format lines --protocol sampled \
                  --negatives 99 --sampler uniform --seed "$seed" 2>/dev/null)
    fi
    read -r pub_hr pub_ndcg <<<"${sasrec[$name]}"
    hr=$(field 'hr@10' "$full"); ndcg=$(field 'ndcg@10' "$full")
    printf '{"file":"%s","seed":%s,"train_seconds":%s,"best_epoch":%s,"full":%s,"sampled":%s,"ratio_hr10":%.3f,"ratio_ndcg10":%.3f}\n' \
      "$name" "$seed" "$seconds" "$(field best_epoch "$train")" "$full" "$sampled" \
      "$(echo "$hr / $pub_hr" | awk -F/ '{print $1/$2}')" "$(echo "$ndcg / $pub_ndcg" | awk -F/ '{print $1/$2}')"
  done
done | tee "$out/results.jsonl"

# Summary: the mean over seeds of each ratio, and the mean of all ten ratios.
awk -F'"ratio_hr10":|,"ratio_ndcg10":|}$' '
  { split($0, a, "\"file\":\""); split(a[2], b, "\""); f = b[1]
    hr[f] += $2; nd[f] += $3; n[f]++ }
  END { s = 0; k = 0; printf "{\"bench\":\"quality\""
        for (f in n) { printf ",\"%s_ratio_hr10\":%.3f,\"%s_ratio_ndcg10\":%.3f", f, hr[f]/n[f], f, nd[f]/n[f]
                       s += hr[f]/n[f] + nd[f]/n[f]; k += 2 }
        printf ",\"mean_ratio\":%.3f}\n", s/k }' "$out/results.jsonl"
echo "models, curves and logs in $out" >&2
