"""The dense task's pilot (issue 27): CE (prior init), α-CE, focal, OHEM and CE without easy
negatives trained untuned on the digit canvases at a few location ratios; test pixel AP, object
AP and CE's easy-negative shares, with the time per epoch.

    python -m benchmarks.dense_pilot [--ratios 100,4096] [--epochs 6] [--lr 0.01] [--objects 40]

What the spec runs through the pipeline, trained here directly (no tuning, one seed) to size it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import datasets
from harness.learners.base import FitTask
from harness.learners.fcn import FCNLearner
from harness.learners.trainer import TrainConfig
from harness.metrics import binary
from harness.evaluation.dense import dense_scores

METHODS = {
    "ce": ("ce", {}),
    "alpha_ce": ("focal", {"gamma": 0.0, "alpha": 0.75}),
    "focal": ("focal", {"gamma": 2.0, "alpha": 0.25}),
    "ohem": ("ohem", {"keep": 0.25}),
    "ohem_1to3": ("ohem", {"keep": 1.0, "neg_pos_ratio": 3.0}),
    "ce_drop_easy": ("ce_drop_easy", {}),
}


def run(ratio: float, methods: list[str], args) -> None:
    pool = datasets.load("dense/digit_canvases", {"n_object_canvases": args.objects, "max_ratio": max(ratio, 100),
                                                  "contrast": args.contrast}, seed=1)
    data = datasets.prepare(pool, ratio, seed=2, min_test_minority=10)
    learner = FCNLearner("fcn", tuple(args.channels), tuple(args.dilations),
                         TrainConfig(0.0, 0.0, args.epochs, args.batch, 5), binary.get("average_precision").monitor,
                         True, "none", True)
    for name in methods:
        loss, params = METHODS[name]
        task = FitTask(data.train.X, data.train.y, data.validation.X, data.validation.y, loss, params,
                       {"lr": args.lr, "weight_decay": 1e-4}, seed=3)
        t0 = time.perf_counter()
        fitted = learner.fit([task])[0]
        seconds = time.perf_counter() - t0
        logits = fitted.predict_logits(data.test.X)
        ap = binary.get("average_precision")(data.test.y, logits)
        extra = dense_scores(data, fitted)
        print(f"ρ={ratio:<6g} {name:13s} pixel AP {ap:.3f}  object AP {extra['object_average_precision']:.3f}  "
              f"easy share logit p90 {extra.get('easy_negative_logit_share_p90', float('nan')):.3f} "
              f"param p90 {extra.get('easy_negative_param_share_p90', float('nan')):.3f}  "
              f"{seconds / args.epochs:.2f} s/epoch ({len(data.train.X)} canvases)", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratios", default="100,4096")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--contrast", type=float, default=0.5)
    parser.add_argument("--channels", type=lambda s: [int(v) for v in s.split(",")], default=[16, 16, 16])
    parser.add_argument("--dilations", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 2])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for ratio in (float(r) for r in args.ratios.split(",")):
        run(ratio, args.methods.split(","), args)


if __name__ == "__main__":
    main()
