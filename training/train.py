"""Pulse trainer: reads the tensors that bin/train.ts built with src/core/features.ts, trains a small
quantile MLP ensemble, exports ONNX with normalisation inside the graph, and saves parity outputs.

Never re-implements feature logic: it only sees float32 tensors and the manifest.
Run through `npm run train`; direct use: /usr/bin/python3 training/train.py MANIFEST.json
"""
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import time

import numpy as np
import torch

from model import Ensemble, PulseNet, calibrate_spread, pinball_loss, store_half

DATA = {}


def load(manifest_dir, entry, name, cols):
    path = os.path.join(manifest_dir, entry[name])
    arr = np.fromfile(path, dtype=np.float32)
    return torch.from_numpy(arr.reshape(entry["n"], cols))


def load_data(manifest_path):
    with open(manifest_path) as f:
        m = json.load(f)
    d = os.path.dirname(os.path.abspath(manifest_path))
    W, C, H = m["windowHours"], m["calendarSize"], m["horizons"]
    DATA["m"], DATA["d"] = m, d
    for split in ("train", "val"):
        DATA[split] = (load(d, m[split], "history", W), load(d, m[split], "calendar", C), load(d, m[split], "target", H))
    w = None
    if "weight" in m["train"]:
        w = torch.from_numpy(np.fromfile(os.path.join(d, m["train"]["weight"]), dtype=np.float32))
        w = w / w.mean()
    hol_w = float(m["hyper"].get("holidayWeight", 1.0))
    if hol_w != 1.0:
        # Windows whose targets touch a holiday or half day are rare; weight them up.
        touches = (DATA["train"][1][:, m["holidayColumns"]] > 0).any(dim=1).float()
        w = (torch.ones(touches.shape[0]) if w is None else w) * (1.0 + (hol_w - 1.0) * touches)
        print(f"holiday weight {hol_w}: {int(touches.sum())} of {touches.shape[0]} training windows", flush=True)
    if w is not None:
        w = w / w.mean()
    DATA["weight"] = w


def batched(net, h, c, size=8192):
    return torch.cat([net(h[s : s + size], c[s : s + size]) for s in range(0, h.shape[0], size)])


def train_member(k):
    """Trains ensemble member k (seed + k) with early stopping; returns its best state."""
    m, hp = DATA["m"], DATA["m"]["hyper"]
    torch.set_num_threads(1)
    W, C, H, quantiles = m["windowHours"], m["calendarSize"], m["horizons"], m["quantiles"]
    Q = len(quantiles)
    tr_h, tr_c, tr_y = DATA["train"]
    va_h, va_c, va_y = DATA["val"]
    tr_w = DATA["weight"]
    hw = torch.ones(H)
    hw[0] = float(hp.get("h1Weight", 1.0))
    hw = hw / hw.mean()
    q = torch.tensor(quantiles, dtype=torch.float32)
    seed = int(hp["seed"]) + k
    torch.manual_seed(seed)
    np.random.seed(seed)
    net = PulseNet(W, C, H, Q, hidden=int(hp["hidden"]), layers=int(hp["layers"]), dropout=float(hp.get("dropout", 0.0)))
    opt = torch.optim.AdamW(net.parameters(), lr=float(hp["lr"]), weight_decay=float(hp.get("weightDecay", 1e-4)))
    epochs, bs = int(hp["epochs"]), int(hp["batchSize"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(hp["lr"]), total_steps=epochs * math.ceil(tr_h.shape[0] / bs), pct_start=0.15)
    best, best_state, best_epoch, bad = float("inf"), None, 0, 0
    g = torch.Generator().manual_seed(seed)
    tag = f"member {k + 1}/{hp['members']}"
    for epoch in range(1, epochs + 1):
        te = time.time()
        net.train()
        perm = torch.randperm(tr_h.shape[0], generator=g)
        total, batches = 0.0, 0
        for s in range(0, len(perm), bs):
            idx = perm[s : s + bs]
            pred = net(tr_h[idx], tr_c[idx])
            loss = pinball_loss(pred, tr_y[idx], tr_h[idx, -1:], q, hw, None if tr_w is None else tr_w[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            batches += 1
        net.eval()
        with torch.no_grad():
            vp = batched(net, va_h, va_c)
            vloss = pinball_loss(vp, va_y, va_h[:, -1:], q, hw).item()
            mid = vp[:, :, Q // 2]
            mape1 = ((mid[:, 0] - va_y[:, 0]).abs() / va_y[:, 0]).mean().item() * 100
            mape24 = ((mid[:, -1] - va_y[:, -1]).abs() / va_y[:, -1]).mean().item() * 100
            cover = ((va_y >= vp[:, :, 0]) & (va_y <= vp[:, :, -1])).float().mean().item() * 100
        mark = ""
        if vloss < best - 1e-7:
            best, best_epoch, bad, mark = vloss, epoch, 0, " *"
            best_state = {name: v.clone() for name, v in net.state_dict().items()}
        else:
            bad += 1
        print(
            f"{tag} epoch {epoch:3d}/{epochs}  train {total / batches:.5f}  val {vloss:.5f}  "
            f"val MAPE h1 {mape1:.3f}%  h24 {mape24:.3f}%  cover {cover:.1f}%  {time.time() - te:.1f}s{mark}",
            flush=True,
        )
        if bad >= int(hp["patience"]):
            print(f"{tag}: early stop, best epoch {best_epoch}", flush=True)
            break
    return {"state": best_state, "bestEpoch": best_epoch, "valLoss": best, "seed": seed}


def main(manifest_path):
    t0 = time.time()
    load_data(manifest_path)
    m, d = DATA["m"], DATA["d"]
    hp = m["hyper"]
    W, C, H, quantiles = m["windowHours"], m["calendarSize"], m["horizons"], m["quantiles"]
    Q = len(quantiles)
    va_h, va_c, va_y = DATA["val"]
    print(f"train windows {DATA['train'][0].shape[0]}, validation windows {va_h.shape[0]}, window {W} h, calendar {C}, horizons {H}", flush=True)

    # Members train in parallel processes, one BLAS thread each: on 2 cores that beats 2 threads on one.
    n_members = int(hp["members"])
    workers = max(1, min(int(hp.get("workers", 2)), n_members))
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(train_member, range(n_members), chunksize=1)
    else:
        results = [train_member(k) for k in range(n_members)]
    torch.set_num_threads(int(hp.get("threads", 2)))
    nets = []
    for r in results:
        net = PulseNet(W, C, H, Q, hidden=int(hp["hidden"]), layers=int(hp["layers"]), dropout=float(hp.get("dropout", 0.0)))
        net.load_state_dict(r["state"])
        nets.append(net.eval())

    model = Ensemble(nets, H, Q).eval()
    if hp.get("fp16Weights", True):
        store_half(model)
    with torch.no_grad():
        if hp.get("calibrate", True):
            raw = batched(model.raw, va_h, va_c)
            # The outer quantiles are calibrated to a central coverage that may exceed their nominal one
            # (--interval-target): coverage calibrated on the validation quarter shrinks on the next year.
            t = float(hp.get("intervalTarget", quantiles[-1] - quantiles[0]))
            levels = [(1.0 - t) / 2] + list(quantiles[1:-1]) + [1.0 - (1.0 - t) / 2]
            model.spread.copy_(calibrate_spread(raw, va_y, levels))
        vp = batched(model, va_h, va_c)
        mape1 = ((vp[:, 0, Q // 2] - va_y[:, 0]).abs() / va_y[:, 0]).mean().item() * 100
        mape24 = ((vp[:, -1, Q // 2] - va_y[:, -1]).abs() / va_y[:, -1]).mean().item() * 100
        cover = ((va_y >= vp[:, :, 0]) & (va_y <= vp[:, :, -1])).float().mean().item() * 100
    s = model.spread
    print(
        f"ensemble of {n_members} on validation: MAPE h1 {mape1:.3f}%  h24 {mape24:.3f}%  10-90% coverage {cover:.1f}% "
        f"(interval spread h1 {s[0, 0]:.2f}/{s[0, -1]:.2f}, h24 {s[-1, 0]:.2f}/{s[-1, -1]:.2f})",
        flush=True,
    )

    # Kept (git-ignored) so intervals can be re-examined offline without retraining.
    torch.save(model.state_dict(), os.path.join(d, "ensemble.pt"))
    onnx_path = os.path.join(d, "model.onnx")
    torch.onnx.export(
        model,
        (va_h[:4].clone(), va_c[:4].clone()),
        onnx_path,
        input_names=["history", "calendar"],
        output_names=["forecast"],
        dynamic_axes={"history": {0: "batch"}, "calendar": {0: "batch"}, "forecast": {0: "batch"}},
        opset_version=int(hp.get("opset", 17)),
        # Folding would turn the float16 weights' Cast into float32 constants and double the file.
        do_constant_folding=False,
    )
    # Parity: the synthetic windows bin/train.ts wrote, through the exported PyTorch module.
    par = m["parity"]
    with torch.no_grad():
        out = model(load(d, par, "history", W), load(d, par, "calendar", C)).numpy().astype(np.float32)
    out.tofile(os.path.join(d, "parity_forecast.f32"))
    report = {
        "seconds": round(time.time() - t0, 1),
        # CPU time of the trainer and its member processes: comparable across busy and idle machines.
        "cpuSeconds": round(sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime")), 1),
        "members": [{"seed": r["seed"], "bestEpoch": r["bestEpoch"], "valLoss": round(r["valLoss"], 6)} for r in results],
        "validation": {"mapeH1": round(mape1, 4), "mapeH24": round(mape24, 4), "coverage": round(cover, 2)},
        "spread": [[round(x, 4) for x in row] for row in model.spread.tolist()],
        "torch": torch.__version__,
        "opset": int(hp.get("opset", 17)),
    }
    with open(os.path.join(d, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"exported {onnx_path}; trainer took {report['seconds']} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
