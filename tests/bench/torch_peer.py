#!/usr/bin/python3
"""torch_peer.py — the PyTorch peer of `streamrec trainer`, for train_vs_torch.sh.

The same model, loss, optimiser, batching and validation as the C trainer's
defaults (include/sr_model.h, include/sr_train.h, worker/model, worker/train),
written as a PyTorch user would write it, on the CPU:

  x_t = item_embed[item] + type_embed[type]                 (dropout 0.65)
  h_t = GRU(x_t, h_{t-1})                                   nn.GRU (see below)
  q_t = A h_t;  s_j = q_t . e_j / sqrt(E) over the last T = 8 item embeddings
        (the current one included);  c_t = sum_j softmax(s)_j e_j
  u_t = W_o [h_t ; c_t] + b_o                               (dropout 0.65 on [h;c])
  logits = item_embed u_t + out_bias                        (tied embeddings)
  loss = full softmax cross-entropy, mean over the batch's predicted events
  Adam (lr 5e-3, 0.9, 0.999, 1e-8), global grad-norm clip 5

The GRU: by default nn.GRU, which is what a user would write. Its candidate
gate is tanh(W_n x + b_in + r * (U_n h + b_hn)), where streamrec's is
tanh(W_h x + b_h + U_h (r * h)): the same cost (three H x H products per step
either way), a slightly different function. --cell exact runs streamrec's
cell as a Python loop over the steps (x-side products for all steps in one
matmul, as streamrec does), for a check that the choice does not change the
picture.

Data and split as sr_dataset.h: "user item item ..." lines, users in ascending
id order (a user's lines concatenated in file order), items as read. A user
with n >= 3 events keeps the last two out (validation item n-2, test item
n-1) and is evaluated; a user with fewer is training-only. An epoch: each
user's last 50 training events (users with >= 2), shuffled, stably sorted by
length, cut into batches of 64, batches in shuffled order; step t reads event
t and predicts event t+1; right padding carries no loss. With max length 50
and TBPTT chunks of 50 a sequence is always one chunk (at most 49 steps), so
TBPTT is plain BPTT here, as in the C trainer at its defaults.

Validation as sr_eval.h's full protocol: every evaluated user's validation
item ranked against every item, with the items of the history (events
0..n-3, the whole history, from an empty state) removed from the ranking
(the target itself never removed); ties count against the target; HR@10,
NDCG@10 = 1/log2(rank+2).

Timing: "seconds" is an epoch's training (batches, forward, backward, clip,
Adam), events_per_s = predicted events / seconds; "elapsed_seconds" runs from
the start of training (data loaded, model built — as sr_fit's clock) to the
end of the epoch's validation, so it includes validation time, as the C
trainer's curve does.

Output: one JSON line per epoch, then one final JSON line. Needs Debian's
python3-torch: run with /usr/bin/python3.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EVENT_TYPES = 4  # SR_EVENT_TYPE_COUNT; the lines format has VIEW (0) only


def load_lines(path):
    """Per-user item rows (users by ascending id), and the item count."""
    events = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            events.setdefault(int(parts[0]), []).extend(int(p) for p in parts[1:])
    ids = sorted({i for seq in events.values() for i in seq})
    row = {item: r for r, item in enumerate(ids)}
    seqs = [np.array([row[i] for i in events[u]], dtype=np.int64) for u in sorted(events)]
    return seqs, len(ids)


class StreamrecModel(nn.Module):
    def __init__(self, items, embed_dim=64, hidden_dim=64, window=8, dropout=0.65, cell="fused"):
        super().__init__()
        E, H = embed_dim, hidden_dim
        self.E, self.H, self.T, self.cell = E, H, window, cell
        self.item_embed = nn.Embedding(items, E)
        self.type_embed = nn.Embedding(EVENT_TYPES, E)
        if cell == "fused":
            self.gru = nn.GRU(E, H, batch_first=True)
        else:  # streamrec's cell; gates stacked z, r, candidate as in cell_w/cell_u/cell_b
            self.cell_w = nn.Parameter(torch.empty(3 * H, E))
            self.cell_u = nn.Parameter(torch.empty(3 * H, H))
            self.cell_b = nn.Parameter(torch.zeros(3 * H))
        self.attn_query = nn.Linear(H, E, bias=False)
        self.out = nn.Linear(H + E, E)
        self.out_bias = nn.Parameter(torch.zeros(items))
        self.drop_in = nn.Dropout(dropout)
        self.drop_out = nn.Dropout(dropout)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        # sr_model_init_random's scales: uniform(-s, s), biases zero.
        E, H = self.E, self.H
        self.item_embed.weight.uniform_(-1 / math.sqrt(E), 1 / math.sqrt(E))
        self.type_embed.weight.uniform_(-0.1 / math.sqrt(E), 0.1 / math.sqrt(E))
        if self.cell == "fused":
            self.gru.weight_ih_l0.uniform_(-math.sqrt(3 / E), math.sqrt(3 / E))
            self.gru.weight_hh_l0.uniform_(-math.sqrt(1 / H), math.sqrt(1 / H))
            self.gru.bias_ih_l0.zero_()
            self.gru.bias_hh_l0.zero_()
        else:
            self.cell_w.uniform_(-math.sqrt(3 / E), math.sqrt(3 / E))
            self.cell_u.uniform_(-math.sqrt(1 / H), math.sqrt(1 / H))
        self.attn_query.weight.uniform_(-math.sqrt(3 / H), math.sqrt(3 / H))
        s = math.sqrt(3 / (H + E))
        self.out.weight.uniform_(-s, s)
        self.out.bias.zero_()
        self.out_bias.zero_()

    def recur(self, x):
        if self.cell == "fused":
            return self.gru(x)[0]
        H = self.H
        xg = F.linear(x, self.cell_w, self.cell_b)           # (B, L, 3H), all steps
        u_zr, u_h = self.cell_u[: 2 * H], self.cell_u[2 * H:]
        h = x.new_zeros(x.shape[0], H)
        out = []
        for t in range(x.shape[1]):
            g = xg[:, t]
            zr = torch.sigmoid(g[:, : 2 * H] + h @ u_zr.t())
            z, r = zr[:, :H], zr[:, H:]
            hh = torch.tanh(g[:, 2 * H:] + (r * h) @ u_h.t())
            h = h + z * (hh - h)
            out.append(h)
        return torch.stack(out, 1)

    def forward(self, rows, types, last=None):
        """User vectors u (B, L, E) for right-padded rows/types (B, L); with last
        (B indexes), only those of each row's step last[b]: (B, E)."""
        B, L = rows.shape
        e = self.item_embed(rows)
        x = self.drop_in(e + self.type_embed(types))
        hs = self.recur(x)                                     # (B, L, H)
        q = self.attn_query(hs)                                # (B, L, E)
        # keys at step t: item embeddings of steps t-T+1 .. t (no dropout, as streamrec)
        keys = F.pad(e, (0, 0, self.T - 1, 0)).unfold(1, self.T, 1).transpose(2, 3)  # (B,L,T,E)
        if last is not None:  # evaluation: only each user's last step
            index = torch.arange(B)
            hs, q, keys = hs[index, last], q[index, last], keys[index, last]
            pos = last.unsqueeze(1) + torch.arange(self.T) - (self.T - 1)         # (B, T)
        else:
            pos = torch.arange(L).unsqueeze(1) + torch.arange(self.T) - (self.T - 1)  # (L, T)
        s = (q.unsqueeze(-2) * keys).sum(-1) / math.sqrt(self.E)
        s = s.masked_fill(pos < 0, float("-inf"))
        c = (torch.softmax(s, -1).unsqueeze(-1) * keys).sum(-2)
        return self.out(self.drop_out(torch.cat([hs, c], -1)))

    def logits(self, u):
        return u @ self.item_embed.weight.t() + self.out_bias


class Data:
    def __init__(self, seqs, items, max_length):
        self.items = items
        self.train = [s[:-2] if len(s) >= 3 else s for s in seqs]
        tails = [t[-max_length:] for t in self.train]
        self.lengths = np.array([len(t) for t in tails])
        self.users = np.nonzero(self.lengths >= 2)[0]
        self.tails = np.full((len(tails), max_length), -1, dtype=np.int64)
        for u, t in enumerate(tails):
            self.tails[u, : len(t)] = t
        # validation: history 0..n-3, target n-2, users with n >= 3, by history length
        valid = [u for u, s in enumerate(seqs) if len(s) >= 3]
        valid.sort(key=lambda u: len(seqs[u]))
        self.valid_users = valid
        self.valid_hist = [seqs[u][:-2] for u in valid]
        self.valid_target = np.array([seqs[u][-2] for u in valid], dtype=np.int64)

    def epoch_batches(self, rng, batch_size):
        order = rng.permutation(self.users)
        order = order[np.argsort(self.lengths[order], kind="stable")]
        batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
        for k in rng.permutation(len(batches)):
            users = batches[k]
            steps = self.lengths[users].max() - 1
            seq = torch.from_numpy(self.tails[users, : steps + 1])
            rows, targets = seq[:, :-1], seq[:, 1:]
            yield rows.clamp(min=0), targets


def train_epoch(model, opt, data, rng, args):
    model.train()
    total, events = 0.0, 0
    for rows, targets in data.epoch_batches(rng, args.batch_size):
        types = torch.zeros_like(rows)
        u = model(rows, types)
        live = targets >= 0
        logits = model.logits(u[live])                  # only steps with a target
        loss = F.cross_entropy(logits, targets[live])   # mean over the batch's events
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        n = int(live.sum())
        total += float(loss) * n
        events += n
    return total / max(events, 1), events


@torch.no_grad()
def validate(model, data, batch=256):
    model.eval()
    V = data.items
    hr = ndcg = 0.0
    for i in range(0, len(data.valid_users), batch):
        hists = data.valid_hist[i: i + batch]
        B, L = len(hists), max(len(h) for h in hists)
        rows = torch.zeros(B, L, dtype=torch.long)
        mask_idx = torch.full((B, L), V, dtype=torch.long)   # column V: a dummy
        for b, h in enumerate(hists):
            rows[b, : len(h)] = torch.from_numpy(h)
            mask_idx[b, : len(h)] = torch.from_numpy(h)
        last = torch.tensor([len(h) - 1 for h in hists])
        u = model(rows, torch.zeros_like(rows), last)
        scores = torch.cat([model.logits(u), u.new_zeros(B, 1)], 1)
        target = torch.from_numpy(data.valid_target[i: i + batch])
        ts = scores[torch.arange(B), target].clone()
        scores.scatter_(1, mask_idx, float("-inf"))
        scores[torch.arange(B), target] = float("-inf")
        scores[:, V] = float("-inf")
        rank = (scores >= ts.unsqueeze(1)).sum(1).double()
        rank[torch.isnan(ts)] = V
        hit = rank < 10
        hr += float(hit.sum())
        ndcg += float((hit.double() / torch.log2(rank + 2)).sum())
    n = max(len(data.valid_users), 1)
    return hr / n, ndcg / n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help='a "lines" file: user item item ...')
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--patience", type=int, default=None, help="default: --epochs")
    p.add_argument("--target-ndcg", type=float, default=None,
                   help="stop after the first epoch whose validation NDCG@10 reaches it")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cell", choices=["fused", "exact"], default="fused")
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--hidden-dim", type=int, default=64)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-length", type=int, default=50)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--dropout", type=float, default=0.65)  # sr_train_config_init's
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    patience = args.patience if args.patience is not None else args.epochs

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    seqs, items = load_lines(args.input)
    data = Data(seqs, items, args.max_length)
    model = StreamrecModel(items, args.embed_dim, args.hidden_dim, args.window, args.dropout,
                           args.cell)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(args.seed)

    started = time.monotonic()
    best, best_epoch, since_best = -1.0, 0, 0
    train_seconds = valid_seconds = 0.0
    total_events, epoch = 0, 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.monotonic()
        loss, events = train_epoch(model, opt, data, rng, args)
        t1 = time.monotonic()
        hr10, ndcg10 = validate(model, data)
        t2 = time.monotonic()
        train_seconds += t1 - t0
        valid_seconds += t2 - t1
        total_events += events
        improved = ndcg10 > best
        if improved:
            best, best_epoch, since_best = ndcg10, epoch, 0
        else:
            since_best += 1
        print(json.dumps({
            "epoch": epoch, "seconds": round(t1 - t0, 3), "valid_seconds": round(t2 - t1, 3),
            "elapsed_seconds": round(t2 - started, 3), "events": events,
            "events_per_s": round(events / (t1 - t0), 1), "loss": round(loss, 6),
            "valid_hr10": round(hr10, 6), "valid_ndcg10": round(ndcg10, 6), "best": int(improved),
        }), flush=True)
        if args.target_ndcg is not None and ndcg10 >= args.target_ndcg:
            break
        if since_best >= patience:
            break
    print(json.dumps({
        "final": True, "file": args.input, "torch": torch.__version__, "threads": args.threads,
        "cell": "nn.GRU" if args.cell == "fused" else "exact (Python loop)",
        "users": len(seqs), "items": items, "epochs": epoch, "best_epoch": best_epoch,
        "best_valid_ndcg10": round(best, 6), "events": total_events,
        "train_seconds": round(train_seconds, 3), "valid_seconds": round(valid_seconds, 3),
        "events_per_s": round(total_events / train_seconds, 1) if train_seconds else None,
        "seconds": round(time.monotonic() - started, 3),
    }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
