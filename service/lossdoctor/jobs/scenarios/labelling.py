"""Curve-based labels: which pathologies a run SHOWS, decided from its logged curves alone.

Used by bench/make_corpus.py to label the benchmark corpus (the rules are listed in its docstring) and
meant for reproducer jobs, which must check that a fix made the pathology go away. numpy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lossdoctor.jobs.scenarios.label_rules import (
    PRIORITY,
    Verdict,
    at_x,
    divergence,
    oscillation,
    overfitting,
    plateau,
    rmed,
    sigma,
    spike_rules,
    underfitting,
    val_below,
)

__all__ = ["PRIORITY", "Verdict", "label"]


def label(metrics: dict[str, dict[str, list[float]]], meta: dict[str, Any]) -> Verdict:
    """Apply the rules (bench/make_corpus.py docstring) to one run's payload metrics and meta."""
    arr = {k: (np.asarray(m["steps"], float), np.asarray(m["values"], float)) for k, m in metrics.items()}
    (xt, t), (xv, v) = arr["train_loss"], arr["val_loss"]
    at, av = arr["train_accuracy"][1], arr["val_accuracy"][1]
    ln_c, step_mode = math.log(meta["num_classes"]), meta["x_axis"] == "step"
    w = max(3, len(t) // 25 | 1) if step_mode else 3
    out = Verdict()
    # exploding_nan: onset is the first point of explosive growth when that comes before the NaN
    ref = max(float(t[0]), ln_c) if np.isfinite(t[0]) else ln_c
    bad = [float(x[~np.isfinite(y)][0]) for x, y in arr.values() if not np.isfinite(y).all()]
    huge = xt[np.isfinite(t) & (t > 100 * ref)]
    if bad or len(huge):
        end = min(bad + ([float(huge[0])] if len(huge) else []))
        smooth = rmed(np.where(np.isfinite(t), t, np.inf), w)  # step runs: ignore single low batches
        high, j = (smooth > 2 * ref) | ~np.isfinite(t), int(np.searchsorted(xt, end))
        while j - 1 >= 0 and high[j - 1]:
            j -= 1  # walk back over the run of already-exploding points
        onset = min(end, float(xt[j])) if j < len(xt) else end
        why = f"first non-finite x={min(bad):.0f}" if bad else f"train loss {np.nanmax(t):.3g} > 100x ref"
        out.add("exploding_nan", onset, why + f"; loss > 2x {ref:.3g} from x={onset:.0f}")
    elif np.nanmax(t) > 20 * ref:
        out.grey.append(f"train loss {np.nanmax(t):.3g}: large but not clearly explosive")
    first_bad = out.onsets.get("exploding_nan", math.inf)
    keep_t, keep_v = xt < first_bad, xv < first_bad
    xt, t, at, xv, v, av = xt[keep_t], t[keep_t], at[keep_t], xv[keep_v], v[keep_v], av[keep_v]
    if len(v) < 5 or len(t) < 5:
        return out
    st, sv = rmed(t, w), rmed(v, 3)
    log_noise = sigma(np.log(np.maximum(t, 1e-12)), w)
    if step_mode and log_noise > 1.0:
        out.grey.append(f"step loss too noisy to judge (log-noise {log_noise:.2f})")
    divergence(out, xt, t, st, at, "exploding_nan" in out.onsets)
    pre = xt < out.onsets.get("divergence", math.inf)  # oscillation is judged before any divergence
    if not step_mode:  # per-step curves: minibatch noise is not an oscillation these rules can tell apart
        oscillation(out, xt[pre], t[pre], ln_c)
    if out.maybe_divergence and "oscillation" not in out.onsets:
        out.grey.append(out.maybe_divergence)  # a wandering loss that ends a bit higher is oscillation
    overfitting(out, xv, v, sv, av, at_x(xt, st, xv))
    cut = out.onsets.get("divergence", math.inf)  # after a divergence the curves are chaos, not spikes
    spike_rules(out, xt[xt < cut], t[xt < cut], xv[xv < cut], v[xv < cut], w, step_mode, ln_c)
    plateau(out, xt, st, ln_c)
    underfitting(out, xt, t, v, ln_c)
    val_below(out, xv, v, at_x(xt, st, xv), ln_c)
    return out
