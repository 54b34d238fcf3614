"""The network. Input: raw MWh history [n, W] and calendar features [n, C] (order: src/core/features.ts).
Output: [n, H, Q] MWh quantiles (ascending). Normalisation lives in the graph: the history is divided by
its newest value, the network predicts the ratio of each target to that value, and the output is
multiplied back, so the served model needs no scaler and is level-free across series."""
import torch
from torch import nn

# Ratios move by a few percent per hour; scaling them keeps activations near unit size.
SCALE = 10.0
# Hourly changes are about a tenth of the ratios' spread: scaled ten times more, so the optimiser sees
# them at the same size as the ratios (they are linear in the ratios, but an MLP finds them slowly).
CHANGE_SCALE = 100.0


class PulseNet(nn.Module):
    """`quantiles`: the levels in output order (ascending, from the manifest); the median 0.5 is the
    centre the other quantiles are stacked around."""

    def __init__(self, W, C, H, quantiles, hidden=512, layers=2, dropout=0.0, changes=0):
        super().__init__()
        Q = len(quantiles)
        self.H, self.Q, self.mid = H, Q, quantiles.index(0.5)
        # Recent changes (hyper `changes`, 0 = none): computed in the graph from the history input.
        self.W, self.changes = W, changes
        dims = [W + C + 2 * changes] + [hidden] * layers
        blocks = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.GELU()]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, H * Q)

    def ratios(self, history, calendar):
        """Predicted quantiles as (target / newest − 1) · SCALE, monotone in the quantile axis."""
        last = history[:, -1:]
        x = (history / last - 1.0) * SCALE
        z = self.head(self.body(torch.cat([x, *self.recent_changes(history, last), calendar], dim=1))).view(-1, self.H, self.Q)
        mid = self.mid
        centre = z[:, :, mid : mid + 1]
        # Quantiles below/above the median as cumulative softplus steps: never cross.
        below = torch.cumsum(nn.functional.softplus(z[:, :, :mid].flip(2)), dim=2).flip(2)
        above = torch.cumsum(nn.functional.softplus(z[:, :, mid + 1 :]), dim=2)
        return torch.cat([centre - below, centre, centre + above], dim=2)

    def recent_changes(self, history, last):
        """[] without `changes`; else the changes into the newest k hours and into the k target hours
        one day earlier (target t+j ↔ hour t+j−24), each / the newest value · CHANGE_SCALE."""
        k, W = self.changes, self.W
        if k == 0:
            return []
        recent = history[:, W - k : W] - history[:, W - k - 1 : W - 1]
        day = history[:, W - 24 : W - 24 + k] - history[:, W - 25 : W - 25 + k]
        return [recent / last * CHANGE_SCALE, day / last * CHANGE_SCALE]

    def forward(self, history, calendar):
        last = history[:, -1:].unsqueeze(2)
        return (1.0 + self.ratios(history, calendar) / SCALE) * last


class Standardize(nn.Module):
    """A covariate input standardised inside the graph: (x - mean) / std with the training rows'
    statistics, times the 0/1 availability flag in column `flag` (mean 0, std 1 there, so the flag
    passes through): an input without data (flag 0) reaches the network as zeros."""

    def __init__(self, mean, std, flag):
        super().__init__()
        self.flag = flag
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x):
        return (x - self.mean) / self.std * x[:, self.flag : self.flag + 1]


def standardizer(x, flag):
    """The Standardize of a training tensor [n, C]: statistics over the rows whose flag is 1."""
    rows = x[x[:, flag] > 0.5]
    if rows.shape[0] < 2:
        rows = x
    mean = rows.mean(dim=0)
    # At least 1 (K, degree-hours): a column that barely varies in training (cooling degrees in a
    # winter-only history) must not turn an ordinary value in service into an input of thousands.
    std = rows.std(dim=0).clamp_min(1.0)
    mean[flag], std[flag] = 0.0, 1.0
    return Standardize(mean, std, flag)


class Ensemble(nn.Module):
    """Mean of the members' quantiles (each member is already monotone, so the mean is too), with the
    distances from the median rescaled per horizon and side by `spread` [H, Q] (calibrated on the
    validation split so the outer quantiles cover what they claim). `norms`: per covariate input, a
    Standardize or None, applied to the raw graph inputs before the members see them."""

    def __init__(self, members, H, Q, mid, norms=None):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.mid = mid
        self.register_buffer("spread", torch.ones(H, Q))
        self.norms = None
        if norms and any(n is not None for n in norms):
            self.norms = nn.ModuleList([n if n is not None else nn.Identity() for n in norms])

    def raw(self, history, calendar):
        out = self.members[0](history, calendar)
        for m in self.members[1:]:
            out = out + m(history, calendar)
        return out / len(self.members)

    def forward(self, history, *covariates):
        """Graph inputs: the history, then each covariate input (concatenated in manifest order)."""
        if self.norms is not None:
            covariates = tuple(norm(c) for norm, c in zip(self.norms, covariates))
        calendar = covariates[0] if len(covariates) == 1 else torch.cat(covariates, dim=1)
        out = self.raw(history, calendar)
        mid = self.mid
        centre = out[:, :, mid : mid + 1]
        return centre + (out - centre) * self.spread


def calibrate_spread(raw, target, quantiles, mid):
    """Per horizon and quantile, the factor on (q − median) that makes the share of targets below
    the quantile equal its level on this data (exact on the calibration set); `mid` is the median's index."""
    H, Q = raw.shape[1], raw.shape[2]
    spread = torch.ones(H, Q)
    centre = raw[:, :, mid]
    for j, level in enumerate(quantiles):
        if j == mid:
            continue
        dist = raw[:, :, j] - centre  # < 0 below the median, > 0 above
        need = (target - centre) / dist  # factor at which the target sits exactly on the quantile
        for h in range(H):
            n = need[:, h]
            side = (target[:, h] - centre[:, h]) * dist[:, h] > 0  # target on this quantile's side
            # Targets on the other side are always beyond a lower / within an upper quantile.
            frac_other = 1.0 - side.float().mean().item()
            want = level if j < mid else 1.0 - level  # share that must fall outside, on this side
            inside_needed = 1.0 - want - frac_other  # share on this side that must be inside
            vals = torch.sort(n[side]).values
            if len(vals) == 0:
                continue
            k = int(round(inside_needed * len(target[:, h]))) - 1
            k = max(0, min(len(vals) - 1, k))
            spread[h, j] = max(float(vals[k]), 0.05)
    return spread


def pinball_loss(pred, target, last, q, horizon_weights, sample_weights=None):
    """Quantile loss on errors relative to the newest value (≈ MAPE for the median)."""
    err = (target.unsqueeze(2) - pred) / last.unsqueeze(2)
    loss = torch.maximum(q * err, (q - 1.0) * err).mean(dim=2)  # [n, H]
    if sample_weights is not None:
        loss = loss * sample_weights.unsqueeze(1)
    return (loss.mean(dim=0) * horizon_weights).mean() * 100.0


class HalfStoredLinear(nn.Module):
    """A Linear whose parameters are stored as float16 (half the model file) and computed in float32.
    PyTorch and ONNX both run the same rounded weights, so parity is unaffected."""

    def __init__(self, linear):
        super().__init__()
        self.register_buffer("weight16", linear.weight.detach().half())
        self.register_buffer("bias16", linear.bias.detach().half())

    def forward(self, x):
        return nn.functional.linear(x, self.weight16.float(), self.bias16.float())


def store_half(module):
    """Replaces every nn.Linear inside `module` by a HalfStoredLinear, in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            setattr(module, name, HalfStoredLinear(child))
        else:
            store_half(child)
    return module
