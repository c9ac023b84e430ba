#!/usr/bin/env bash
# Model publication on a real broker: three versions of a multi-megabyte model
# (several 900 KiB chunks each) on a compacted one-partition topic; a fresh
# subscriber gets exactly the latest, byte for byte. The smaller third version
# deletes the second's extra chunk keys with tombstones. A publication aborted
# half-way (a transaction never committed) is invisible; the next one applies.
. "$(dirname "$0")/lib.sh"

topic=$(fresh_topic models)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" --topics "$topic:1:compact"

tool=$tools/model_topic_tool
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

out1=$("$tool" publish --topic "$topic" --version 1 --items 12000 --seed 1); echo "$out1"
out2=$("$tool" publish --topic "$topic" --version 2 --items 16000 --seed 2); echo "$out2"
out3=$("$tool" publish --topic "$topic" --version 3 --items 8000 --seed 3); echo "$out3"

chunks2=$(field chunks "$out2") chunks3=$(field chunks "$out3")
[ "$(field chunks "$out1")" -ge 3 ] || { echo "version 1 should take several chunks"; exit 1; }
[ "$(field bytes "$out2")" -gt 4000000 ] || { echo "version 2 should be over 4 MB"; exit 1; }
[ "$(field tombstones "$out3")" -eq $((chunks2 - chunks3)) ] ||
  { echo "version 3 should delete $((chunks2 - chunks3)) stale chunk keys"; exit 1; }

# Publishing an older version is refused.
if "$tool" publish --topic "$topic" --version 2 --items 100 2>/dev/null; then
  echo "an older version was published"; exit 1
fi

"$tool" expect --topic "$topic" --version 3 --sha256 "$(field sha256 "$out3")"

# A publication of version 4 that was aborted is never seen.
"$tool" abort --topic "$topic" --version 4 --items 20000 --seed 4
"$tool" expect --topic "$topic" --version 3 --sha256 "$(field sha256 "$out3")"

out4=$("$tool" publish --topic "$topic" --version 4 --items 9000 --seed 5); echo "$out4"
"$tool" expect --topic "$topic" --version 4 --sha256 "$(field sha256 "$out4")"
echo "model publication: ok"
