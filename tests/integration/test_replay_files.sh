#!/usr/bin/env bash
# Replay dataset files into the real broker and read them back with an
# independent consumer (avro-c): every event exactly once, each user's order
# kept, values equal, keys = user ids. Both file formats, both on 4 partitions.
. "$(dirname "$0")/lib.sh"

lines=$(dataset_or lastfm-s3rec/LastFM.txt "$STREAMREC_SOURCE/tests/data/replay_lines.txt")
pairs=$(dataset_or amazon-beauty-bert4rec/beauty.txt "$STREAMREC_SOURCE/tests/data/replay_pairs.txt")

topic=$(fresh_topic lines)
create_topic "$topic" 4
"$STREAMREC_BIN" replay --format lines --input "$lines" --topic "$topic" --no-progress --on-bad-line fail
"$tools/verify_topic" --topic "$topic" --expect-lines "$lines"

topic=$(fresh_topic pairs)
create_topic "$topic" 4
"$STREAMREC_BIN" replay --format pairs --input "$pairs" --topic "$topic" --no-progress --on-bad-line fail
"$tools/verify_topic" --topic "$topic" --expect-pairs "$pairs"
