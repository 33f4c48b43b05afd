#!/usr/bin/env python3
"""bf16 vs fp32 scores of the same images (two `vitnt score` CSVs): max |dQ| and the
Spearman rank correlation, as docs/performance.md reports them.
Usage: bf16_accuracy.py FP32.csv BF16.csv"""
import csv
import sys

import numpy as np
from scipy.stats import spearmanr


def read(path):
    with open(path) as f:
        return {r["path"]: float(r["quality"]) for r in csv.DictReader(f)}


a, b = read(sys.argv[1]), read(sys.argv[2])
if set(a) != set(b):
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]} score different images")
keys = sorted(a)
qa = np.array([a[k] for k in keys])
qb = np.array([b[k] for k in keys])
rho = spearmanr(qa, qb).correlation
print(f"{len(keys)} images: max |Q_bf16 - Q_fp32| {np.abs(qa - qb).max():.2e}, "
      f"mean {np.abs(qa - qb).mean():.2e}, Spearman {rho:.6f}, "
      f"quality range {qa.min():.4f}-{qa.max():.4f}")
