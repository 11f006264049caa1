"""A picture of a diagnosis: the curves, where they change, where each finding starts, and every NaN.

matplotlib is imported inside `plot` only, so the service pays its import cost on the first plot drawn,
never at start-up. Output is deterministic (fixed SVG hash salt, no dates), so equal input gives equal bytes.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_LOCK = threading.Lock()  # rcParams are process-global: one render at a time under rc_context
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_SHADE = {"bad": "#e06666", "good": "#6aa84f", "flat": "#999999"}
_COLORS = {"train": "#1f77b4", "val": "#ff7f0e"}
_SEVERITY = {"error": "#c00000", "warning": "#b45f06", "info": "#555555"}
_RC: dict[str, Any] = {
    "svg.hashsalt": "lossdoctor",
    "svg.fonttype": "none",  # real <text> elements: smaller, searchable, and no glyph paths to compute
    "font.family": "DejaVu Sans",
    "path.simplify": True,
    "agg.path.chunksize": 10000,
}


def _points(raw: dict[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """Finite (steps, values) and the steps of the non-finite values."""
    steps: list[float] = []
    values: list[float] = []
    bad: list[float] = []
    for x, v in zip(raw.get("steps", []), raw.get("values", []), strict=False):
        value = _NON_FINITE.get(v, v) if isinstance(v, str) else v
        if value is None or not math.isfinite(float(value)):
            bad.append(float(x))
        else:
            steps.append(float(x))
            values.append(float(value))
    return steps, values, bad


def _panels(series: dict[str, Any]) -> tuple[list[str], list[str]]:
    accuracy = sorted(n for n in series if "acc" in n.lower())
    loss = sorted(n for n in series if "loss" in n.lower())
    if not loss:  # no loss curve: draw whatever else there is on the main panel
        loss = sorted(n for n in series if n not in accuracy)
    return sorted(loss, key=lambda n: not n.startswith("train")), sorted(
        accuracy, key=lambda n: not n.startswith("train"))


def _color(name: str) -> str:
    return _COLORS["val"] if name.startswith("val") else _COLORS["train"] if name.startswith("train") else "#6a3d9a"


def _gap_after(steps: list[float]) -> list[int]:
    """Indices after which the x axis jumps by more than 3x its usual step (epochs 1-5, then 75-77)."""
    if len(steps) < 3:
        return []
    diffs = sorted(b - a for a, b in zip(steps, steps[1:], strict=False))
    usual = diffs[len(diffs) // 2]
    return [i for i in range(len(steps) - 1) if usual > 0 and steps[i + 1] - steps[i] > 3 * usual]


def _runs(steps: list[float], values: list[float]) -> list[tuple[list[float], list[float]]]:
    """The curve split where it was not logged, so a line never claims values nobody measured."""
    cuts = [0, *(i + 1 for i in _gap_after(steps)), len(steps)]
    return [(steps[a:b], values[a:b]) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _gaps(steps: list[float], values: list[float]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    return [((steps[i], values[i]), (steps[i + 1], values[i + 1])) for i in _gap_after(steps)]


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)


def _shade(ax: Axes, name: str, profile: dict[str, Any], higher_is_better: bool) -> None:
    """Light bands behind the curve: red where it moves the wrong way, green the right way, grey flat.

    A single segment is not shaded: a band over the whole run says nothing the curve does not."""
    segments = profile.get("segments", [])
    for seg in segments if len(segments) > 1 else []:
        trend = seg.get("trend")
        good = (trend == "rising") == higher_is_better
        kind = "flat" if trend not in ("rising", "falling") else ("good" if good else "bad")
        ax.axvspan(float(seg["start"]), float(seg["end"]), color=_SHADE[kind], alpha=0.12, lw=0, zorder=0)
    for cp in profile.get("change_points", []):
        ax.axvline(float(cp), color=_color(name), lw=0.8, ls=":", alpha=0.9, zorder=1)


def _draw_panel(ax: Axes, names: list[str], curves: dict[str, Any], profiles: dict[str, Any],
                higher_is_better: bool) -> dict[str, tuple[list[float], list[float]]]:
    import matplotlib.transforms as mtransforms

    drawn: dict[str, tuple[list[float], list[float]]] = {}
    shaded = next((n for n in names if n.startswith("val") and n in profiles), None) or next(
        (n for n in names if n in profiles), None)
    if shaded is not None:
        _shade(ax, shaded, profiles[shaded], higher_is_better)
    top = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    marked = False
    for name in names:
        steps, values, bad = _points(curves[name])
        drawn[name] = (steps, values)
        style = "-o" if len(steps) <= 40 else "-"
        for i, (xs, ys) in enumerate(_runs(steps, values)):
            ax.plot(xs, ys, style, color=_color(name), lw=1.4, ms=3, label=name if i == 0 else None, zorder=3)
        for (x0, y0), (x1, y1) in _gaps(steps, values):  # epochs not logged: dotted, not drawn as measured
            ax.plot([x0, x1], [y0, y1], ":", color=_color(name), lw=1.0, alpha=0.7, zorder=2)
        if bad:
            label = None if marked else "non-finite (NaN/inf)"
            mark = ax.scatter(bad, [1.0] * len(bad), marker="x", s=60, lw=2.2, color="#d00000",
                              transform=top, clip_on=False, zorder=6, label=label)
            mark.set_gid("non-finite" if not marked else f"non-finite-{name}")
            marked = True
    finite = [v for _, values in drawn.values() for v in values]
    if not higher_is_better and finite and min(finite) > 0 and max(finite) / min(finite) > 10**1.5:
        ax.set_yscale("log")
    if not finite and marked:
        ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3, lw=0.5)
    return drawn


def _set_xlim(ax: Axes, series: dict[str, Any]) -> None:
    """Span every step, the non-finite ones included: markers drawn in axes coordinates do not autoscale."""
    xs = [float(x) for raw in series.values() for x in raw.get("steps", [])]
    if xs:
        lo, hi = min(xs), max(xs)
        pad = 0.02 * (hi - lo) if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)


def _nearest(steps: list[float], values: list[float], x: float) -> float | None:
    if not steps:
        return None
    i = min(range(len(steps)), key=lambda k: abs(steps[k] - x))
    return values[i]


def _mark_findings(ax: Axes, document: dict[str, Any], drawn: dict[str, tuple[list[float], list[float]]],
                   x_axis: str) -> None:
    import matplotlib.transforms as mtransforms

    top = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    lo, hi = ax.get_xlim()
    for row, finding in enumerate(document.get("findings", [])):
        code = str(finding.get("code", "?"))
        color = _SEVERITY.get(str(finding.get("severity")), "#555555")
        onset = finding.get("onset") or {}
        x = onset.get(x_axis, next(iter(onset.values()), None))
        if isinstance(x, int | float):
            right = hi > lo and (float(x) - lo) / (hi - lo) > 0.75  # near the right edge: label to the left
            ax.axvline(float(x), color=color, lw=1.6, ls="--", zorder=4, gid=f"onset-{code}")
            ax.annotate(code, (float(x), 1.0), xycoords=top, xytext=(-4 if right else 4, -16 - 14 * min(row, 8)),
                        textcoords="offset points", ha="right" if right else "left", fontsize=9, fontweight="bold",
                        color=color, zorder=7, gid=f"finding-{code}",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        evidence = finding.get("evidence") or {}
        best = evidence.get("best_epoch", evidence.get("best_step"))
        if isinstance(best, int | float) and not isinstance(best, bool):
            name = next((n for n in drawn if n.startswith("val")), next(iter(drawn), None))
            y = None if name is None else _nearest(*drawn[name], float(best))
            if y is not None:
                ax.plot([float(best)], [y], "o", ms=9, mfc="#2ca02c", mec="black", mew=1.0, zorder=8,
                        label=f"best {x_axis} ({best:g})", gid="best")


def _title(document: dict[str, Any]) -> str:
    status = str(document.get("status", "diagnosis"))
    codes = [f"{f.get('code')} ({f.get('severity')})" for f in document.get("findings", [])]
    return f"{status}: " + (", ".join(codes[:4]) + (" …" if len(codes) > 4 else "") if codes else "no findings")


def plot(document: dict[str, Any], curves: dict[str, Any], fmt: Literal["svg", "png"]) -> bytes:
    """Draw a stored diagnosis (`diagnosis_json`) over its curves (`curves_json`) as SVG or PNG bytes."""
    import io

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series: dict[str, Any] = curves.get("series", {})
    profiles: dict[str, Any] = document.get("series", {})
    x_axis = str(curves.get("x_axis", "step"))
    loss_names, acc_names = _panels(series)
    with _LOCK, matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(10, 6.4 if acc_names else 4.8), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        if acc_names:
            ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
        else:
            ax, ax2 = fig.subplots(1, 1), None
        drawn = _draw_panel(ax, loss_names, series, profiles, higher_is_better=False)
        _set_xlim(ax, series)
        _mark_findings(ax, document, drawn, x_axis)
        ax.set_ylabel("loss" + (" (log)" if ax.get_yscale() == "log" else ""))
        _legend(ax)
        if not series:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No numbers in this input: the findings come from the description.\n"
                    "Post the logged loss values to see the curves.", ha="center", va="center",
                    transform=ax.transAxes, fontsize=12, color="#555555", gid="no-curves")
        if ax2 is not None:
            _draw_panel(ax2, acc_names, series, profiles, higher_is_better=True)
            ax2.set_ylabel("accuracy")
            _legend(ax2)
        (ax2 or ax).set_xlabel(x_axis)
        fig.suptitle(_title(document), fontsize=12, fontweight="bold",
                     color="#c00000" if document.get("status") == "unhealthy" else "#1a1a1a")
        out = io.BytesIO()
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": "LossDoctor"}
        fig.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()
