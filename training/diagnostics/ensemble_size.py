"""Diagnostic only (issue 16, AEP at 1 h): how much averaging more members lowers the 1 h MAE, without
training. Loads a trained ensemble (the ensemble.pt train.py keeps next to its manifest), forecasts the
validation split with each member alone, and prints the 1 h MAE of the mean of every subset of 1 … M
members (the median quantile, before the interval spread, which leaves the median unchanged). The drop
from 1 to M members gives the 1/M trend a larger ensemble would follow. Not used by Pulse or its tests.

    OPENBLAS_NUM_THREADS=2 nice -n 19 /usr/bin/python3 training/diagnostics/ensemble_size.py \
        training/out/<version>-search/<version>-t5
"""

import itertools
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train as T  # noqa: E402
from model import Ensemble, store_half  # noqa: E402

folder = sys.argv[1]
T.load_data(os.path.join(folder, "manifest.json"))
m = T.Data.manifest
va_h, va_c, va_y = T.Data.val
n = int(m["hyper"]["members"])
mid = T.median_index(m)
nets = [T.new_net(m, (va_h.shape[1], va_c.shape[1])).eval() for _ in range(n)]
ensemble = Ensemble(nets, m["horizons"], len(m["quantiles"]), mid, T.Data.norms).eval()
store_half(ensemble)  # the stored state holds the float16 weights the export keeps
ensemble.load_state_dict(torch.load(os.path.join(folder, "ensemble.pt")))
with torch.no_grad():
    h1 = [T.batched(net, va_h, va_c)[:, 0, mid] for net in ensemble.members]
y = va_y[:, 0]
print(f"validation windows {y.shape[0]}")
for k in range(1, n + 1):
    maes = [(sum(h1[i] for i in c) / k - y).abs().mean().item() for c in itertools.combinations(range(n), k)]
    print(f"{k} members: 1 h MAE {sum(maes) / len(maes):.2f} (subsets {min(maes):.2f} … {max(maes):.2f})")
