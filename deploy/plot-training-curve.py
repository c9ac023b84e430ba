#!/usr/bin/python3
"""Plots a training curve written by `streamrec trainer --curve CURVE.csv` to PNG.

usage: deploy/plot-training-curve.py CURVE.csv [OUT.png]

Two panels against the epoch: the training loss, and the validation HR@10 and
NDCG@10 (the best epoch, the one the model file keeps, is marked). Needs
Debian's python3-matplotlib (apt-get install python3-matplotlib).
"""
import csv
import sys


def main(argv):
    if len(argv) not in (2, 3) or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    source = argv[1]
    target = argv[2] if len(argv) == 3 else source.rsplit(".", 1)[0] + ".png"
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot-training-curve: needs matplotlib (apt-get install python3-matplotlib)",
              file=sys.stderr)
        return 1

    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print(f"plot-training-curve: {source} has no epochs", file=sys.stderr)
        return 1
    epoch = [int(r["epoch"]) for r in rows]
    best = [int(r["epoch"]) for r in rows if r["best"] == "1"][-1:]

    fig, (loss_ax, valid_ax) = plt.subplots(1, 2, figsize=(11, 4))
    loss_ax.plot(epoch, [float(r["train_loss"]) for r in rows], marker="o")
    loss_ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="training")
    valid_ax.plot(epoch, [float(r["valid_hr10"]) for r in rows], marker="o", label="HR@10")
    valid_ax.plot(epoch, [float(r["valid_ndcg10"]) for r in rows], marker="o", label="NDCG@10")
    for b in best:
        valid_ax.axvline(b, color="grey", linestyle=":", label=f"best epoch ({b})")
    valid_ax.set(xlabel="epoch", ylabel="validation (full ranking)", title="validation")
    valid_ax.legend()
    for ax in (loss_ax, valid_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(source)
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
