"""Pulse trainer: reads the tensors that `pulse train` built with src/core/features.ts, trains a small
quantile MLP ensemble, exports ONNX with normalisation inside the graph, and saves parity outputs.

Never re-implements feature logic: it only sees float32 tensors and the manifest, whose keys are the
contract in training/contract.schema.json (checked on load by contract.py; training/test_contract.py
checks that every key read here is declared there). The quantile order is the manifest's `quantiles`
(the model metadata records the same list): the median sits at quantiles.index(0.5).
Run through `npm run train` (pulse train); direct use: /usr/bin/python3 training/train.py MANIFEST.json
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

from contract import check_report, load_manifest
from model import Ensemble, PulseNet, calibrate_spread, pinball_loss, standardizer, store_half


class Data:
    """What every member process needs, set once before the members fork."""

    manifest = None
    folder = None
    train = None  # (history, covariates, target)
    val = None
    weight = None
    norms = None  # per covariate input: a Standardize or None
    val_raw = None  # validation covariates as the graph receives them (before standardising)


def read_f32(folder, file, n, cols):
    arr = np.fromfile(os.path.join(folder, file), dtype=np.float32)
    return torch.from_numpy(arr.reshape(n, cols))


def read_inputs(folder, m, split):
    """(history [n, W], covariates [n, C]) of a split: the history input first, the covariate inputs
    concatenated in manifest order."""
    specs = m["inputs"]
    if specs[0]["role"] != "history" or any(s["role"] != "covariates" for s in specs[1:]):
        raise ValueError("the manifest's first input must be the history, the others covariates")
    n = split["n"]
    files = split["inputs"]
    history = read_f32(folder, files[specs[0]["name"]], n, specs[0]["width"])
    covariates = [read_f32(folder, files[s["name"]], n, s["width"]) for s in specs[1:]]
    return history, torch.cat(covariates, dim=1) if covariates else torch.zeros(n, 0)


def load_data(manifest_path):
    m = load_manifest(manifest_path)
    d = os.path.dirname(os.path.abspath(manifest_path))
    Data.manifest, Data.folder = m, d
    print(f"model {m['version']}, features {m['featuresVersion']}, quantiles {m['quantiles']}", flush=True)
    for name, split in (("train", m["train"]), ("val", m["val"])):
        history, covariates = read_inputs(d, m, split)
        target = read_f32(d, split["target"], split["n"], m["horizons"])
        setattr(Data, name, (history, covariates, target))
    # Inputs standardised in the graph (maskColumn): statistics from the training rows; the members
    # train on standardised covariates, the exported graph standardises the raw input itself.
    Data.norms = []
    for spec, part in zip(m["inputs"][1:], split_covariates(m, Data.train[1])):
        flag = spec.get("maskColumn")
        Data.norms.append(None if flag is None else standardizer(part, flag))
    Data.val_raw = Data.val[1]
    Data.train = (Data.train[0], standardize(m, Data.norms, Data.train[1]), Data.train[2])
    Data.val = (Data.val[0], standardize(m, Data.norms, Data.val[1]), Data.val[2])
    w = None
    if split_weight(m["train"]) is not None:
        w = torch.from_numpy(np.fromfile(os.path.join(d, split_weight(m["train"])), dtype=np.float32))
        w = w / w.mean()
    hol_w = float(m["hyper"]["holidayWeight"])
    if hol_w != 1.0:
        # Windows whose targets touch a holiday or half day are rare; weight them up.
        touches = (Data.train[1][:, m["holidayColumns"]] > 0).any(dim=1).float()
        w = (torch.ones(touches.shape[0]) if w is None else w) * (1.0 + (hol_w - 1.0) * touches)
        print(f"holiday weight {hol_w}: {int(touches.sum())} of {touches.shape[0]} training windows", flush=True)
    if w is not None:
        w = w / w.mean()
    Data.weight = w


def standardize(m, norms, covariates):
    """Concatenated covariates with each standardised input replaced by its standardised form."""
    if all(n is None for n in norms):
        return covariates
    with torch.no_grad():
        parts = [p if n is None else n(p) for n, p in zip(norms, split_covariates(m, covariates))]
    return torch.cat(parts, dim=1)


def split_weight(split):
    """The optional sample-weight file of a split (recency weighting), or None."""
    return split.get("weight")


def batched(net, h, c, size=8192):
    return torch.cat([net(h[s : s + size], c[s : s + size]) for s in range(0, h.shape[0], size)])


def median_index(m):
    return m["quantiles"].index(0.5)


def new_net(m, widths):
    hp = m["hyper"]
    W, C = widths
    return PulseNet(
        W, C, m["horizons"], m["quantiles"], hidden=int(hp["hidden"]), layers=int(hp["layers"]), dropout=float(hp["dropout"]), changes=int(hp["changes"])
    )


def train_member(k):
    """Trains ensemble member k (seed + k) with early stopping; returns (best state, best epoch, val loss, seed)."""
    m = Data.manifest
    hp = m["hyper"]
    torch.set_num_threads(1)
    H, quantiles = m["horizons"], m["quantiles"]
    mid = median_index(m)
    tr_h, tr_c, tr_y = Data.train
    va_h, va_c, va_y = Data.val
    tr_w = Data.weight
    hw = torch.ones(H)
    hw[0] = float(hp["h1Weight"])
    hw = hw / hw.mean()
    q = torch.tensor(quantiles, dtype=torch.float32)
    seed = int(hp["seed"]) + k
    torch.manual_seed(seed)
    np.random.seed(seed)
    net = new_net(m, (tr_h.shape[1], tr_c.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), lr=float(hp["lr"]), weight_decay=float(hp["weightDecay"]))
    epochs, bs = int(hp["epochs"]), int(hp["batchSize"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(hp["lr"]), total_steps=epochs * math.ceil(tr_h.shape[0] / bs), pct_start=0.15)
    best, best_state, best_epoch, bad = float("inf"), None, 0, 0
    # Armed from minEpochs (never later than the last epoch, so a member always has a best state).
    armed = min(int(hp["minEpochs"]), epochs)
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
            centre = vp[:, :, mid]
            mape1 = ((centre[:, 0] - va_y[:, 0]).abs() / va_y[:, 0]).mean().item() * 100
            mape24 = ((centre[:, -1] - va_y[:, -1]).abs() / va_y[:, -1]).mean().item() * 100
            cover = ((va_y >= vp[:, :, 0]) & (va_y <= vp[:, :, -1])).float().mean().item() * 100
        mark = ""
        if epoch < armed:
            pass  # early stopping not armed yet: this epoch is neither a best nor counted toward patience
        elif vloss < best - 1e-7:
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
    return best_state, best_epoch, best, seed


def main(manifest_path):
    t0 = time.time()
    load_data(manifest_path)
    m, d = Data.manifest, Data.folder
    hp = m["hyper"]
    quantiles = m["quantiles"]
    mid = median_index(m)
    va_h, va_c, va_y = Data.val
    widths = (va_h.shape[1], va_c.shape[1])
    print(f"train windows {Data.train[0].shape[0]}, validation windows {va_h.shape[0]}, history {widths[0]} h, covariates {widths[1]}, horizons {m['horizons']}", flush=True)

    # Members train in parallel processes, one BLAS thread each: on 2 cores that beats 2 threads on one.
    n_members = int(hp["members"])
    workers = max(1, min(int(hp["workers"]), n_members))
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(train_member, range(n_members), chunksize=1)
    else:
        results = [train_member(k) for k in range(n_members)]
    torch.set_num_threads(int(hp["threads"]))
    nets = []
    for state, _, _, _ in results:
        net = new_net(m, widths)
        net.load_state_dict(state)
        nets.append(net.eval())

    model = Ensemble(nets, m["horizons"], len(quantiles), mid, Data.norms).eval()
    store_half(model)
    with torch.no_grad():
        raw = batched(model.raw, va_h, va_c)
        # The outer quantiles are calibrated to a central coverage that may exceed their nominal one
        # (intervalTarget): coverage calibrated on the validation quarter shrinks on the next year.
        t = float(hp["intervalTarget"])
        levels = [(1.0 - t) / 2] + list(quantiles[1:-1]) + [1.0 - (1.0 - t) / 2]
        model.spread.copy_(calibrate_spread(raw, va_y, levels, mid))
        vp = batched(lambda h, c: model(h, *split_covariates(m, c)), va_h, Data.val_raw)
        mape1 = ((vp[:, 0, mid] - va_y[:, 0]).abs() / va_y[:, 0]).mean().item() * 100
        mape24 = ((vp[:, -1, mid] - va_y[:, -1]).abs() / va_y[:, -1]).mean().item() * 100
        cover = ((va_y >= vp[:, :, 0]) & (va_y <= vp[:, :, -1])).float().mean().item() * 100
    s = model.spread
    print(
        f"ensemble of {n_members} on validation: MAPE h1 {mape1:.3f}%  h24 {mape24:.3f}%  {quantiles[0]:g}-{quantiles[-1]:g} coverage {cover:.1f}% "
        f"(interval spread h1 {s[0, 0]:.2f}/{s[0, -1]:.2f}, h24 {s[-1, 0]:.2f}/{s[-1, -1]:.2f})",
        flush=True,
    )

    outputs = m["outputs"]
    # Kept (git-ignored) so intervals can be re-examined offline without retraining.
    torch.save(model.state_dict(), os.path.join(d, outputs["state"]))
    onnx_path = os.path.join(d, outputs["onnx"])
    names = [spec["name"] for spec in m["inputs"]]
    example = (va_h[:4].clone(),) + split_covariates(m, Data.val_raw[:4].clone())
    torch.onnx.export(
        model,
        example,
        onnx_path,
        input_names=names,
        output_names=["forecast"],
        dynamic_axes={**{name: {0: "batch"} for name in names}, "forecast": {0: "batch"}},
        opset_version=int(hp["opset"]),
        # Folding would turn the float16 weights' Cast into float32 constants and double the file.
        do_constant_folding=False,
    )
    # Parity: the synthetic windows the TypeScript side wrote, through the exported PyTorch module.
    with torch.no_grad():
        ph, pc = read_inputs(d, m, m["parity"])
        out = model(ph, *split_covariates(m, pc)).numpy().astype(np.float32)
    out.tofile(os.path.join(d, outputs["parityForecast"]))
    report = {
        "seconds": round(time.time() - t0, 1),
        # CPU time of the trainer and its member processes: comparable across busy and idle machines.
        "cpuSeconds": round(sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime")), 1),
        "members": [{"seed": seed, "bestEpoch": epoch, "valLoss": round(loss, 6)} for _, epoch, loss, seed in results],
        "validation": {"mapeH1": round(mape1, 4), "mapeH24": round(mape24, 4), "coverage": round(cover, 2)},
        "spread": [[round(x, 4) for x in row] for row in model.spread.tolist()],
        "torch": torch.__version__,
        "opset": int(hp["opset"]),
    }
    with open(os.path.join(d, outputs["report"]), "w") as f:
        json.dump(check_report(report), f, indent=2)
    print(f"exported {onnx_path}; trainer took {round(time.time() - t0, 1)} s", flush=True)


def split_covariates(m, covariates):
    """The concatenated covariates cut back into the graph's covariate inputs (manifest order)."""
    parts, at = [], 0
    for spec in m["inputs"][1:]:
        parts.append(covariates[:, at : at + spec["width"]])
        at += spec["width"]
    return tuple(parts)


if __name__ == "__main__":
    main(sys.argv[1])
