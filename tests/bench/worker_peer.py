"""worker_peer.py — the Python peer of `streamrec worker`, for tests/bench/worker.sh.

The same work as the worker, written the way a competent Python user would
build it: confluent-kafka, fastavro, numpy; batched and vectorised.

  consume      Consumer.consume(4096) in its own group from the beginning, the
               worker's consumer settings (manual commits, earliest,
               read_committed); every second: flush the producer, then commit
  decode       registry framing (0x00, 4-byte schema id 1, Avro) checked, then
               fastavro.schemaless_reader with schemas/user_event.avsc (parsed
               once; event_time read as the plain long it is on the wire, not
               converted to a datetime); the key must be the decimal user id
  state        a preallocated float32 matrix of hidden states (users x H), a
               ring of the last T item rows per user, a dict user id -> row
  step         per consumed batch, each user's events in order: event k of a
               user goes in round k, one vectorised GRU step per round
               (include/sr_model.h, worker/model/gru.c):
                 x = item_embed[item] + type_embed[type];  g = x W^T + b
                 z = sigmoid(g_z + h U_z^T), r = sigmoid(g_r + h U_r^T)
                 hhat = tanh(g_h + (r * h) U_h^T),  h' = h + z * (hhat - h)
  score        (--score-after K > 0) after each batch, as the worker's policy
               (worker/serve/schedule.c) with no minimum interval: a user is due
               at its first event and whenever it has K unscored events. Due
               users in blocks of 256: q = A h; attention over the last T items
               (s = q.k / sqrt(E), softmax, c = sum alpha k); u = W_o [h; c] + b_o;
               scores = u E^T + bias (one matmul); the user's window excluded;
               top-N by argpartition, then sorted; one Avro Recommendation per
               user (plain Avro, as the worker writes it), keyed by user id,
               through a confluent-kafka Producer (linger.ms 5, lz4, idempotent:
               the worker's producer settings).

Weights come from the .npz that tests/bench/bench_make_model writes next to the
model file. Items the model does not know do not step the state (as the worker);
unlike the worker this peer has no popularity fallback, no eviction or expiry
and no dead-letter topic (bad records are counted and skipped) — none of which
the benchmark's stream exercises.

Timing as the worker's: the events after the first processed batch over the
time from the end of that batch to the end of the batch that reaches --events
(the worker's rate is taken from its events counter the same way). The last
line on stdout is one JSON object.

  worker_peer.py --bootstrap ADDR --topic T --group G --events N --model-npz F
                 [--score-after K] [--recommendations-topic R] [--topn N]
  worker_peer.py --compare TOPIC TOPIC --bootstrap ADDR [--limit N]
                 (up to N lists of each: those for the same user and event
                 must be the same items in the same order)
"""
import argparse
import io
import json
import os
import sys
import time

import confluent_kafka
import fastavro
import numpy as np
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from fastavro import parse_schema, schemaless_reader, schemaless_writer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVENT_TYPES = {"VIEW": 0, "CLICK": 1, "ADD_TO_CART": 2, "PURCHASE": 3}
REGISTRY_HEADER = b"\x00\x00\x00\x00\x01"  # magic 0, schema id 1
SCORE_BLOCK = 256


def load_schema(name):
    """A schema from schemas/, timestamp-millis fields left as plain longs."""
    with open(os.path.join(REPO, "schemas", name)) as f:
        schema = json.load(f)

    def strip(node):
        if isinstance(node, dict):
            if node.get("logicalType") == "timestamp-millis":
                node.pop("logicalType")
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(schema)
    return parse_schema(schema)


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Model:
    def __init__(self, path):
        z = np.load(path)
        V, E, H, T, cell, attention, tied, version = (int(v) for v in z["config"])
        if cell != 0 or attention != 1:
            sys.exit("worker_peer: the peer implements the GRU with item attention only")
        self.V, self.E, self.H, self.T, self.version = V, E, H, T, version
        self.item_ids = z["item_ids"]
        self.item_embed = z["item_embed"]
        self.type_embed = z["type_embed"]
        self.cell_w_t = np.ascontiguousarray(z["cell_w"].T)  # E x 3H
        self.cell_b = z["cell_b"]
        cell_u = z["cell_u"]
        self.u_zr_t = np.ascontiguousarray(cell_u[: 2 * H].T)  # H x 2H
        self.u_h_t = np.ascontiguousarray(cell_u[2 * H:].T)  # H x H
        self.attn_query_t = np.ascontiguousarray(z["attn_query"].T)  # H x E
        self.out_w_t = np.ascontiguousarray(z["out_w"].T)  # (H + E) x E
        self.out_b = z["out_b"]
        out_embed = z["out_embed"] if "out_embed" in z.files else self.item_embed
        self.out_embed_t = np.ascontiguousarray(out_embed.T)  # E x V
        self.out_bias = z["out_bias"]

    def rows(self, item_ids):
        """Vocabulary rows of item ids (ascending ids), -1 for unknown ones."""
        rows = np.searchsorted(self.item_ids, item_ids)
        rows[rows >= self.V] = 0
        return np.where(self.item_ids[rows] == item_ids, rows, -1).astype(np.int32)


class UserStates:
    """Hidden states, rings of recent item rows and the scoring counters."""

    def __init__(self, model, capacity):
        self.m = model
        self.cap = capacity
        self.row_of = {}
        self.user_ids = np.zeros(capacity, np.int64)
        self.hidden = np.zeros((capacity, model.H), np.float32)
        self.ring = np.full((capacity, model.T), -1, np.int32)
        self.head = np.zeros(capacity, np.int32)
        self.count = np.zeros(capacity, np.int32)
        self.unscored = np.zeros(capacity, np.int32)
        self.scored = np.zeros(capacity, bool)
        self.last_partition = np.zeros(capacity, np.int32)
        self.last_offset = np.zeros(capacity, np.int64)
        self.last_time = np.zeros(capacity, np.int64)

    def add(self, user_id):
        row = len(self.row_of)
        if row == self.cap:
            self.grow()
        self.row_of[user_id] = row
        self.user_ids[row] = user_id
        return row

    def grow(self):
        n = self.cap
        for name in ("user_ids", "hidden", "ring", "head", "count", "unscored", "scored",
                     "last_partition", "last_offset", "last_time"):
            old = getattr(self, name)
            new = np.full((2 * n,) + old.shape[1:], -1 if name == "ring" else 0, old.dtype)
            new[:n] = old
            setattr(self, name, new)
        self.cap = 2 * n

    def step(self, users, rows, types):
        """One GRU step for distinct users (one event each)."""
        m, H, T = self.m, self.m.H, self.m.T
        x = m.item_embed[rows] + m.type_embed[types]
        g = x @ m.cell_w_t
        g += m.cell_b
        h = self.hidden[users]
        zr = sigmoid(g[:, : 2 * H] + h @ m.u_zr_t)
        z, r = zr[:, :H], zr[:, H:]
        hhat = np.tanh(g[:, 2 * H:] + (r * h) @ m.u_h_t)
        self.hidden[users] = h + z * (hhat - h)
        pos = self.head[users]
        self.ring[users, pos] = rows
        self.head[users] = (pos + 1) % T
        self.count[users] = np.minimum(self.count[users] + 1, T)

    def top_n(self, users, n):
        """Top-n (rows, scores) of each user, best first, the window excluded."""
        m, T = self.m, self.m.T
        h = self.hidden[users]
        q = h @ m.attn_query_t
        rows = self.ring[users]
        valid = np.arange(T)[None, :] < self.count[users][:, None]
        rows = np.where(valid, rows, rows[:, :1])
        keys = m.item_embed[rows]  # B x T x E
        s = np.einsum("be,bte->bt", q, keys) / np.float32(np.sqrt(m.E))
        s[~valid] = -np.inf
        s -= s.max(axis=1, keepdims=True)
        alpha = np.exp(s)
        alpha /= alpha.sum(axis=1, keepdims=True)
        c = np.einsum("bt,bte->be", alpha, keys)
        u = np.concatenate([h, c], axis=1) @ m.out_w_t + m.out_b
        scores = u @ m.out_embed_t
        scores += m.out_bias
        np.put_along_axis(scores, rows, -np.inf, axis=1)
        top = np.argpartition(-scores, n, axis=1)[:, :n]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)


def rounds(users):
    """Index arrays of the events of round 0, 1, ...: round k holds each user's
    k-th event of the batch, in batch order."""
    n = len(users)
    order = np.argsort(users, kind="stable")
    sorted_users = users[order]
    starts = np.ones(n, bool)
    starts[1:] = sorted_users[1:] != sorted_users[:-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - first
    by_round = np.argsort(rank, kind="stable")
    bounds = np.cumsum(np.bincount(rank))
    return np.split(by_round, bounds[:-1]), order, sorted_users, starts


def compare(bootstrap, topics, limit):
    """Reads up to `limit` recommendations from each of two topics and checks
    that lists for the same (user, source partition, source offset) are the
    same items in the same order: the peer and the worker compute the same."""
    schema = load_schema("recommendation.avsc")
    lists = []
    for topic in topics:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-compare",
                      "enable.auto.commit": False})
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        assignment, total = [], 0
        for p in parts:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            take = min(high - low, limit // len(parts))
            total += take
            assignment.append((TopicPartition(topic, p, low), low + take))
        c.assign([tp for tp, _ in assignment])
        ends = {tp.partition: end for tp, end in assignment}
        found, read = {}, 0
        while read < total:
            msgs = c.consume(4096, 5.0)
            if not msgs:
                break
            for m in msgs:
                if m.error() or m.offset() >= ends[m.partition()]:
                    continue
                read += 1
                r = schemaless_reader(io.BytesIO(m.value()), schema)
                found[(r["user_id"], r["source_partition"], r["source_offset"])] = r["items"]
        c.close()
        lists.append(found)
    common = lists[0].keys() & lists[1].keys()
    same = sum(1 for k in common
               if [i["item_id"] for i in lists[0][k]] == [i["item_id"] for i in lists[1][k]])
    diff = max((abs(x["score"] - y["score"]) for k in common
                for x, y in zip(lists[0][k], lists[1][k])), default=0.0)
    print(f"compare: {len(common)} lists for the same user and event, {same} identical",
          file=sys.stderr)
    print(json.dumps({"bench": "worker_peer_compare", "compared": len(common), "identical": same,
                      "max_score_difference": diff}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--compare":
        ap = argparse.ArgumentParser()
        ap.add_argument("--compare", nargs=2, metavar="TOPIC", required=True)
        ap.add_argument("--bootstrap", required=True)
        ap.add_argument("--limit", type=int, default=200000)
        a = ap.parse_args()
        compare(a.bootstrap, a.compare, a.limit)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--model-npz", required=True)
    ap.add_argument("--score-after", type=int, default=0, help="K; 0 = scoring off")
    ap.add_argument("--recommendations-topic", default="bench-peer-recommendations")
    ap.add_argument("--topn", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--users-hint", type=int, default=1 << 16)
    ap.add_argument("--timeout-s", type=float, default=60)
    a = ap.parse_args()

    model = Model(a.model_npz)
    states = UserStates(model, max(a.users_hint, 1024))
    event_schema = load_schema("user_event.avsc")
    rec_schema = load_schema("recommendation.avsc")
    consumer = Consumer({
        "bootstrap.servers": a.bootstrap, "group.id": a.group,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "partition.assignment.strategy": "range,roundrobin",
    })
    consumer.subscribe([a.topic])
    producer = None
    if a.score_after:
        producer = Producer({"bootstrap.servers": a.bootstrap, "enable.idempotence": True,
                             "linger.ms": 5, "compression.type": "lz4"})
    row_of, add_user = states.row_of, states.add
    scoring = a.score_after > 0
    counts = {"events": 0, "bad": 0, "unknown": 0, "recommendations": 0, "scorings": 0}
    rss_before = resident_bytes()
    t_first = t_last = None
    events_at_first = 0
    last_commit = time.monotonic()
    idle_since = time.monotonic()

    def commit():
        """Flush what was produced, then commit what was consumed (the
        worker's order); nothing consumed since the last commit is fine."""
        if producer:
            producer.flush()
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != KafkaError._NO_OFFSET:
                raise

    def produce(value, key):
        while True:
            try:
                producer.produce(a.recommendations_topic, value, key)
                return
            except BufferError:
                producer.poll(0.05)

    def score(due):
        now_ms = int(time.time() * 1000)
        for first in range(0, len(due), SCORE_BLOCK):
            block = due[first:first + SCORE_BLOCK]
            top, top_scores = states.top_n(block, a.topn)
            ids = model.item_ids[top]
            for b, row in enumerate(block.tolist()):
                buf = io.BytesIO()
                user_id = int(states.user_ids[row])
                schemaless_writer(buf, rec_schema, {
                    "user_id": user_id, "model_version": model.version,
                    "generated_at": now_ms, "last_event_time": int(states.last_time[row]),
                    "source_partition": int(states.last_partition[row]),
                    "source_offset": int(states.last_offset[row]),
                    "items": [{"item_id": i, "score": s}
                              for i, s in zip(ids[b].tolist(), top_scores[b].tolist())]})
                produce(buf.getvalue(), str(user_id).encode())
            counts["recommendations"] += len(block)
        states.unscored[due] = 0
        states.scored[due] = True
        counts["scorings"] += len(due)
        producer.poll(0)

    while counts["events"] + counts["bad"] < a.events:
        msgs = consumer.consume(a.batch, 0.1)
        if not msgs:
            if time.monotonic() - idle_since > a.timeout_s:
                sys.exit(f"worker_peer: no record for {a.timeout_s} s after {counts['events']}")
            continue
        idle_since = time.monotonic()
        users, items, types, parts, offsets, times = [], [], [], [], [], []
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    counts["bad"] += 1
                continue
            value = msg.value()
            if value is None or value[:5] != REGISTRY_HEADER:
                counts["bad"] += 1
                continue
            buf = io.BytesIO(value)
            buf.seek(5)
            event = schemaless_reader(buf, event_schema)
            user_id = event["user_id"]
            if msg.key() != str(user_id).encode():
                counts["bad"] += 1
                continue
            row = row_of.get(user_id)
            if row is None:
                row = add_user(user_id)
            users.append(row)
            items.append(event["item_id"])
            types.append(EVENT_TYPES[event["event_type"]])
            parts.append(msg.partition())
            offsets.append(msg.offset())
            times.append(event["event_time"])
        if not users:
            continue
        users = np.array(users, np.int64)
        rows = model.rows(np.array(items, np.int64))
        types = np.array(types, np.int32)
        counts["events"] += len(users)
        known = rows >= 0
        counts["unknown"] += int((~known).sum())
        by_round, order, sorted_users, starts = rounds(users)
        for idx in by_round:
            idx = idx[known[idx]]
            if len(idx):
                states.step(users[idx], rows[idx], types[idx])
        # Each user's newest event of the batch, and its unscored count.
        ends = np.ones(len(users), bool)
        ends[:-1] = starts[1:]
        batch_users = sorted_users[ends]
        newest = order[ends]
        states.last_partition[batch_users] = np.array(parts, np.int32)[newest]
        states.last_offset[batch_users] = np.array(offsets, np.int64)[newest]
        states.last_time[batch_users] = np.array(times, np.int64)[newest]
        per_user = np.diff(np.append(np.nonzero(starts)[0], len(users)))
        states.unscored[batch_users] += per_user.astype(np.int32)
        if scoring:
            due = batch_users[(~states.scored[batch_users] |
                               (states.unscored[batch_users] >= a.score_after)) &
                              (states.count[batch_users] > 0)]
            if len(due):
                score(due)
        now = time.monotonic()
        if t_first is None:
            t_first, events_at_first = now, counts["events"]
        t_last = now
        if now - last_commit >= 1.0:
            commit()
            last_commit = time.monotonic()

    rss_after = resident_bytes()
    commit()
    consumer.close()
    seconds = (t_last - t_first) if t_first is not None else 0.0
    rate = (counts["events"] - events_at_first) / seconds if seconds > 0 else 0.0
    users_held = len(row_of)
    mode = f"score every {a.score_after}" if scoring else "scoring off"
    print(f"python peer ({mode}): {counts['events']} events, {users_held} users, "
          f"{counts['recommendations']} recommendations in {seconds:.3f} s: {rate:.0f} events/s",
          file=sys.stderr)
    print(json.dumps({
        "bench": "worker_peer", "mode": "score" if scoring else "off",
        "score_after_events": a.score_after, "events": counts["events"],
        "bad_records": counts["bad"], "unknown_items": counts["unknown"],
        "users": users_held, "scorings": counts["scorings"],
        "recommendations": counts["recommendations"], "seconds": round(seconds, 4),
        "events_per_s": round(rate, 1),
        "resident_growth_bytes": rss_after - rss_before,
        "resident_bytes_per_user": round((rss_after - rss_before) / max(users_held, 1), 1),
        "numpy": np.__version__, "confluent_kafka": confluent_kafka.__version__,
        "librdkafka": confluent_kafka.libversion()[0], "fastavro": fastavro.__version__,
    }))


if __name__ == "__main__":
    main()
