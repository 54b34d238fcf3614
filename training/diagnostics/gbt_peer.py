"""Diagnostic only (issue 16, AEP at 1 h): a tree-based 1 h-ahead peer trained the OpenSTEF way.

Needs Debian's python3-sklearn (apt-get install python3-sklearn; not a dependency of Pulse, of
training/ or of any test). Input: the hours and development-year boundaries that
training/diagnostics/export-hours.ts writes from a series as Pulse reads it.

A HistGradientBoostingRegressor forecasts the hour after each origin (69 features, all inside the
origin's 168 h window or the target's calendar): lags 1..48, 167 and 168 of the target; the hourly
changes of the hours ending 1, 2, 3, 23, 24 and 167 h before the target and the newest hour's change
over 24 h; means of the last 3, 6, 12, 24, 72 and 168 h; the spread of the last 23 hourly changes;
the target hour's local hour, weekday, holiday kind (none/holiday/half-day/bridge, as the series'
calendar gives it), the holiday kind 24 h earlier and the local day of year. `--target delta`
learns target − newest value, `level` the target itself (as OpenSTEF does). It trains on the origins
whose target precedes the validation split, picks the number of trees (up to --max-iter) with the
lowest MAE on the validation split (targets in the last 91 days before the end of training, as
Pulse's search validates) and is scored on the development test span with Pulse's rules
(runBacktest): an origin counts when its 168 h window is complete and the target hour, inside
[testFrom, testTo], has an actual; persistence is the window's newest value on the same pairs.

  OMP_NUM_THREADS=2 nice -n 19 /usr/bin/python3 training/diagnostics/gbt_peer.py /tmp/peer aep [--target level|delta]
"""

import argparse
import json
import os
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

WINDOW = 168


def features(v, hour, weekday, holiday, doy, origins):
    """Feature matrix for 1 h-ahead forecasts made at `origins` (target = origin + 1)."""
    o = origins
    cols, names = [], []

    def add(name, x):
        names.append(name)
        cols.append(np.asarray(x, dtype=np.float64))

    for k in range(1, 49):  # lag k of the target = v[target - k] = v[o + 1 - k]
        add(f"lag{k}", v[o + 1 - k])
    add("lag168", v[o + 1 - 168])
    add("lag167", v[o + 1 - 167])
    for k in (1, 2, 3, 23, 24, 167):
        add(f"diff{k}", v[o + 1 - k] - v[o - k])  # change of the hour ending k h before the target
    add("diff24_lag1", v[o] - v[o - 24])
    cs = np.concatenate([[0.0], np.cumsum(np.nan_to_num(v))])  # windows used are complete
    for w in (3, 6, 12, 24, 72, 168):
        add(f"mean{w}", (cs[o + 1] - cs[o + 1 - w]) / w)
    # std of hourly changes over the last 24 h
    d = np.diff(v, prepend=np.nan)
    dd = np.stack([d[o - j] for j in range(23)], axis=1)
    add("std_change24", dd.std(axis=1))
    t = o + 1
    add("hour", hour[t])
    add("weekday", weekday[t])
    add("holiday", holiday[t])
    add("doy", doy[t])
    add("holiday_lag24", holiday[t - 24])
    return np.stack(cols, axis=1), names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("series")
    ap.add_argument("--target", choices=["level", "delta"], default="level")
    ap.add_argument("--loss", choices=["squared_error", "absolute_error"], default="squared_error")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--leaves", type=int, default=63)
    ap.add_argument("--max-iter", type=int, default=1000)
    ap.add_argument("--importance", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    started = time.time()
    cpu0 = time.process_time()

    raw = np.genfromtxt(os.path.join(a.folder, f"{a.series}.hours.csv"), delimiter=",", skip_header=1)
    b = json.load(open(os.path.join(a.folder, f"{a.series}.bounds.json")))
    ts = raw[:, 0].astype(np.int64)
    v = raw[:, 1]
    hour, weekday, day, holiday = raw[:, 2], raw[:, 3], raw[:, 4], raw[:, 5]
    days = day.astype(np.int64).astype("datetime64[D]")
    doy = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.float64)  # local day of year

    n = len(v)
    nan = np.isnan(v)
    run = np.zeros(n, dtype=np.int64)
    r = 0
    for i in range(n):
        r = 0 if nan[i] else r + 1
        run[i] = r
    # Origins: complete 168 h window ending at the origin (Pulse's runBacktest / splitOrigins), target
    # present.
    o = np.arange(WINDOW, n - 1)
    o = o[(run[o] >= WINDOW) & ~nan[o + 1]]
    target_ts = ts[o + 1]
    train = o[target_ts < b["validationStart"]]
    val = o[(target_ts >= b["validationStart"]) & (target_ts <= b["trainEnd"])]
    test_all = np.arange(WINDOW - 1, n - 1)
    test_all = test_all[(run[test_all] >= WINDOW) & ~nan[test_all + 1]]
    tt = ts[test_all + 1]
    test = test_all[(tt >= b["testFrom"]) & (tt <= b["testTo"])]
    assert len(test[test < WINDOW]) == 0  # every feature lies inside the window

    Xtr, names = features(v, hour, weekday, holiday, doy, train)
    Xva, _ = features(v, hour, weekday, holiday, doy, val)
    Xte, _ = features(v, hour, weekday, holiday, doy, test)
    base = (lambda idx: v[idx]) if a.target == "delta" else (lambda idx: 0.0)
    ytr = v[train + 1] - base(train)
    yva = v[val + 1] - base(val)

    model = HistGradientBoostingRegressor(
        loss=a.loss,
        learning_rate=a.lr,
        max_leaf_nodes=a.leaves,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        max_iter=a.max_iter,
        random_state=0,
    )
    print(f"fitting {Xtr.shape} at {time.time() - started:.0f} s", flush=True)
    model.fit(Xtr, ytr)
    print(f"fitted at {time.time() - started:.0f} s", flush=True)
    # Early stopping on the validation split: the number of trees with the lowest validation MAE.
    history = [float(np.mean(np.abs(p - yva))) for p in model.staged_predict(Xva)]
    best_iter = int(np.argmin(history)) + 1
    best = history[best_iter - 1]

    def predict(X):
        for i, p in enumerate(model.staged_predict(X), start=1):
            if i == best_iter:
                return p

    actual = v[test + 1]
    pred = predict(Xte) + base(test)
    pers = v[test]
    mae = float(np.mean(np.abs(pred - actual)))
    pmae = float(np.mean(np.abs(pers - actual)))
    mape = float(np.mean(np.abs(pred - actual) / actual) * 100)
    val_pred = predict(Xva) + base(val)
    val_mape = float(np.mean(np.abs(val_pred - v[val + 1]) / v[val + 1]) * 100)
    out = {
        "series": a.series,
        "target": a.target,
        "loss": a.loss,
        "lr": a.lr,
        "leaves": a.leaves,
        "features": len(names),
        "train_origins": int(len(train)),
        "validation_origins": int(len(val)),
        "test_pairs": int(len(test)),
        "test_span": [b["iso"]["testFrom"], b["iso"]["testTo"]],
        "best_iter": best_iter,
        "validation_mae": best,
        "validation_mape_h1": val_mape,
        "test_mae_h1": mae,
        "persistence_mae_h1": pmae,
        "ratio": pmae / mae,
        "test_mape_h1": mape,
        "wall_s": round(time.time() - started, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),
        "load": os.getloadavg(),
    }
    if a.importance:
        rng = np.random.default_rng(0)
        imp = []
        for j, name in enumerate(names):
            Xp = Xte.copy()
            Xp[:, j] = Xp[rng.permutation(len(Xp)), j]
            imp.append((float(np.mean(np.abs(predict(Xp) + base(test) - actual))) - mae, name))
        imp.sort(reverse=True)
        out["permutation_importance_mae"] = [(nm, round(d, 2)) for d, nm in imp[:20]]
    print(json.dumps(out, indent=1))
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
