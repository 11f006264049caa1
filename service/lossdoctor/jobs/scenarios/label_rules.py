"""The per-pathology rules behind `labelling.label` (listed in bench/make_corpus.py's docstring).

Each rule reads curves already cut at any explosion and adds its code, onset and reason to a `Verdict`,
or a grey-zone note when the run sits too close to its threshold to be labelled honestly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
PRIORITY = ("exploding_nan", "divergence", "overfitting", "overconfidence", "val_spike", "loss_spike",
            "plateau", "oscillation", "underfitting", "val_below_train")


def rmed(v: F64, w: int) -> F64:
    """Centred running median (window shrinks at the ends): robust to the spikes we look for."""
    h = w // 2
    return np.array([np.median(v[max(0, i - h) : i + h + 1]) for i in range(len(v))])


def mad(r: F64) -> float:
    """Robust sigma: scaled median absolute deviation."""
    return float(1.4826 * np.median(np.abs(r - np.median(r)))) + 1e-12


def sigma(v: F64, w: int) -> float:
    """Noise level: robust sigma of the residual around the running median."""
    return mad(v - rmed(v, w))


def tail(v: F64, k: int = 3) -> float:
    return float(np.mean(v[-k:]))


@dataclass
class Verdict:
    """Onsets of the codes the curves show, why, and grey-zone notes (a grey run is ambiguous)."""

    onsets: dict[str, int] = field(default_factory=dict)
    why: list[str] = field(default_factory=list)
    grey: list[str] = field(default_factory=list)
    maybe_divergence: str = ""

    def add(self, code: str, onset: float, why: str) -> None:
        self.onsets[code] = int(onset)
        self.why.append(f"{code}@{int(onset)}: {why}")


def spikes(v: F64, ratio: float, near_ratio: float, floor: float, recover: int, local: int = 0
           ) -> tuple[list[int], list[int]]:
    """Recovering spikes (see the rules) and near misses (>= near_ratio). `local` (step-logged runs): the
    log-loss jump must also beat 6 robust sigmas of the log-loss within +-local points (batch noise)."""
    found, near = [], []
    lv, k = np.log(np.maximum(v, 1e-12)), 5 if local else 3
    i = 2  # a spike needs a baseline of at least two earlier points
    while i < len(v):
        prev = float(np.median(v[max(0, i - k) : i]))
        jump, after = v[i] - prev, v[i + 1 : i + 1 + recover]
        recovered = np.nonzero(after <= prev + 0.3 * jump)[0]
        around = np.delete(lv[max(0, i - local) : i + local + 1], min(i, local)) if local else lv[:0]
        noisy = bool(local) and lv[i] - math.log(max(prev, 1e-12)) < 6 * mad(around)
        if len(recovered) and v[i] >= ratio * prev and jump >= floor and not noisy:
            found.append(i)
            i += int(recovered[0]) + 2
            continue
        if len(recovered) and v[i] >= near_ratio * prev and jump >= floor and not noisy:
            near.append(i)
        i += 1
    return found, near


def at_x(x_src: F64, v_src: F64, x: F64) -> F64:
    """Values of one series at the x positions of another (last logged point at or before x)."""
    idx = np.clip(np.searchsorted(x_src, x, side="right") - 1, 0, len(x_src) - 1)
    return v_src[idx]


def divergence(out: Verdict, x: F64, t: F64, s: F64, acc: F64, exploding: bool) -> None:
    m = int(np.argmin(s))
    last = s[max(m + 1, int(0.8 * len(s))) :]
    end = float(np.median(last)) if len(last) else float(s[-1])
    fell, rise = s[0] - s[m], end - s[m]
    if exploding or m > len(s) - 4 or fell <= 0 or rise <= 0 or s[m] <= 0:
        return
    ratio, give_back = end / s[m], rise / fell
    acc_drop = float(rmed(acc, 3).max()) - tail(acc)
    persistent = (last > math.sqrt(s[m] * end)).all()  # halfway up, geometrically: the rise can be 100x
    if ratio >= 1.3 and give_back >= 0.25 and persistent and (acc_drop >= 0.05 or ratio >= 3):
        above, j = s > s[m] + 0.1 * rise, len(s) - 1
        while j - 1 > m and above[j - 1]:
            j -= 1
        out.add("divergence", x[j], f"train min {s[m]:.3g}@{x[m]:.0f} -> {end:.3g} at the end, "
                f"train acc -{acc_drop:.2f}")
    elif ratio >= 1.15 and give_back >= 0.15 and (acc_drop >= 0.03 or ratio >= 2):
        out.maybe_divergence = f"divergence? end/min {ratio:.2f}, give-back {give_back:.2f}"


def overfitting(out: Verdict, x: F64, v: F64, s: F64, acc: F64, t_at: F64) -> None:
    b = int(np.argmin(s))
    if b > len(s) - 4:
        return
    # The noise where the rise is measured (from the best, or the later half, on): over the whole curve the
    # smooth early descent would make any late wobble look significant. From second differences, which a
    # trend does not inflate; residuals around a 3-point median are exactly 0 wherever a point is the median.
    peak, noise = float(s[b + 1 :].max()), mad(np.diff(v[min(b, len(v) // 2) :], 2)) / math.sqrt(6)
    ratio, lasting = peak / s[b], s[-1] >= 1.05 * s[b] and s[-1] - s[b] >= 2 * noise
    if "divergence" in out.onsets or not lasting:
        return
    if peak - s[b] < 4 * noise:
        if ratio >= 1.10 and peak - s[b] >= 2.5 * noise:
            out.grey.append(f"val rise {ratio:.2f}x is only {(peak - s[b]) / noise:.1f} noise sigmas")
        return
    if ratio < 1.10:
        if ratio >= 1.05:
            out.grey.append(f"val rise only {ratio:.2f}x")
        return
    acc_change = tail(acc) - float(rmed(acc, 3)[b])
    # Onset: the best epoch as logged (the checkpoint early stopping keeps), the lowest val up to where S turns.
    low = int(np.argmin(v[: b + 2]))
    why = f"best val {v[low]:.3g}@{x[low]:.0f}, then {peak:.3g} ({ratio:.2f}x), val acc {acc_change:+.3f}"
    if t_at[-1] < t_at[b]:
        out.add("overfitting", x[low], why + ", train still falling")
    if acc_change >= -0.01:
        out.add("overconfidence", x[low], why)
    elif acc_change > -0.03:
        out.grey.append(f"val acc change {acc_change:+.3f} near the overconfidence cut")


def spike_rules(out: Verdict, xt: F64, t: F64, xv: F64, v: F64, w: int, step_mode: bool, ln_c: float) -> None:
    recover = max(5, len(t) // 20) if step_mode else 5
    if "oscillation" in out.onsets or len(t) < 5 or len(v) < 5:
        return  # an oscillating loss is not smooth: isolated spikes are not defined on it
    found, near = spikes(t, 2.0, 1.6, max(6 * sigma(t, w), 0.05 * ln_c), recover, 25 if step_mode else 0)
    if found:
        where = xt[found].astype(int).tolist()
        out.add("loss_spike", xt[found[0]], f"{len(found)} recovering train spike(s) at x={where}")
    elif near:
        out.grey.append(f"train bump(s) at x={xt[near].astype(int).tolist()} near the spike cut")
    t_at = at_x(xt, rmed(t, w) if step_mode else t, xv)  # raw per-epoch train: it must be smooth itself
    vfound, vnear = spikes(v, 1.5, 1.3, 0.05 * ln_c, 3)  # no noise floor: a jumpy val IS the finding
    spike_x = xt[found + near]

    def train_smooth(i: int) -> bool:  # the val jump is not just the echo of a train spike
        lo = xv[i - 2] if i >= 2 else -1.0
        calm = t_at[i] < 1.2 * np.median(t_at[max(0, i - 3) : i])
        return bool(calm and not ((spike_x > lo) & (spike_x <= xv[i])).any())

    clean = [i for i in vfound if train_smooth(i)]
    if clean:
        where = xv[clean].astype(int).tolist()
        out.add("val_spike", xv[clean[0]], f"{len(clean)} val spike(s) at x={where}, train smooth")
    elif any(train_smooth(i) for i in vnear):
        out.grey.append(f"val bump(s) at x={xv[vnear].astype(int).tolist()} near the spike cut")


def plateau(out: Verdict, x: F64, s: F64, ln_c: float) -> None:
    n = len(s)
    for st in range(int(0.6 * n) + 1):
        seg = s[st:]
        if len(seg) < max(5, 0.4 * n):
            return
        mean = float(seg.mean())
        if s[:st].size and s[:st].min() < 0.9 * mean:
            return  # it was better before: the loss came back up, that is divergence, not a plateau
        if seg.max() - seg.min() <= 0.05 * mean and seg[0] - seg[-1] <= 0.03 * seg[0] and mean >= 0.5 * ln_c:
            out.add("plateau", x[st], f"flat at {mean:.3g} (lnC {ln_c:.3g}) from x={x[st]:.0f}")
            return


def oscillation(out: Verdict, x: F64, t: F64, ln_c: float) -> None:
    """Judged on log(loss): a swing is relative, and a 2x bounce means the same at 2.0 and at 0.02."""
    y = np.log(np.maximum(t, 1e-12))
    n, k = len(y), 5
    trend = np.convolve(np.pad(y, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    for st in range(int(0.6 * n) + 1):
        seg, res = y[st:], y[st:] - trend[st:]
        if len(seg) < max(8, 0.4 * n):
            return
        amp = float(np.median(np.abs(res)))
        swing = float(np.median(np.abs(np.exp(seg) - np.exp(trend[st:]))))
        d = np.sign(np.diff(seg))
        turns = float(np.mean(d[1:] != d[:-1]))
        h = len(seg) // 2
        net = abs(float(np.median(seg[:h]) - np.median(seg[h:])))
        if amp >= 0.08 and swing >= 0.02 * ln_c and turns >= 0.45 and net < max(0.1, amp):
            out.add("oscillation", x[st], f"typical swing {amp:.2f} in log-loss, {turns:.0%} turns, "
                    f"net change {net:.2f}")
            return


def underfitting(out: Verdict, x: F64, t: F64, v: F64, ln_c: float) -> None:
    if {"overfitting", "divergence", "exploding_nan"} & out.onsets.keys():
        return
    te, ve = tail(t, max(3, len(t) // 20)), tail(v)
    if abs(ve - te) > 0.2 * te or rmed(t, max(3, len(t) // 25 | 1)).min() < 0.3 * ln_c:
        return  # a loss that was once low and came back up is not underfitting
    if te >= 0.4 * ln_c:
        out.add("underfitting", x[0], f"train loss ends {te:.3g} >= 0.4 lnC, val {ve:.3g}")
    elif te >= 0.3 * ln_c:
        out.grey.append(f"train loss ends {te:.3g}, near the underfitting cut")


def val_below(out: Verdict, x: F64, v: F64, t_at: F64, ln_c: float) -> None:
    n = len(v)
    below, margin = v < t_at, (t_at - v) / np.maximum(np.abs(t_at), 1e-12)
    for s in range(n - max(3, math.ceil(0.3 * n)) + 1):
        if below[s:].mean() < 0.9 or not below[-1]:
            continue
        mid, end = float(np.median(margin[s:])), tail(margin)
        if float(np.median(t_at[s:] - v[s:])) < 0.03 * ln_c:
            continue  # both losses near zero: a relative gap there means nothing
        if mid >= 0.10 and end >= 0.10:
            out.add("val_below_train", x[s], f"val below train from x={x[s]:.0f}, median margin {mid:.0%}")
            return
        if mid >= 0.05 and end >= 0.05:
            out.grey.append(f"val below train by only {mid:.0%}")
            return
