"""Coqui TTS trainer console logs: `GLOBAL_STEP: N` blocks of `| > name: value  (running avg)` lines.

Training blocks give the step's values (`loss` -> train_loss, `current_lr` -> lr, components such as
`loss_mel_ce` as sent); `EVAL PERFORMANCE` blocks give `avg_*` values -> `val_*` at the last global
step seen. ANSI colour codes are blanked first; the running averages in brackets are ignored.
"""

from __future__ import annotations

import re

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats._common import NUMBER, check_size, to_float
from lossdoctor.ingest.formats._tokens import clean
from lossdoctor.run import Run

_LINE = re.compile(
    r"GLOBAL_STEP: (?P<step>\d{1,12})"
    r"|(?P<eval>> EVALUATION|--> EVAL PERFORMANCE)|(?P<train>> TRAINING)"
    rf"|\| > (?P<name>[\w.]{{1,64}}):\s{{0,40}}(?P<value>-?nan|-?inf|{NUMBER})"
)
_TRAIN_NAMES = {"loss": "train_loss", "current_lr": "lr"}


def detect(text: str) -> bool:
    head = text[:200_000]
    return "GLOBAL_STEP:" in head and "| > " in head


def extent(text: str) -> tuple[int, int] | None:
    """Where the log's lines start and end inside a larger text."""
    matches = [m.span() for m in _LINE.finditer(text)]
    return (matches[0][0], matches[-1][1]) if matches else None


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: a trainer_0_log.txt (or a slice of it). Returns a Run on the global-step axis."""
    check_size(text)
    columns: dict[str, tuple[list[float], list[float]]] = {}
    step = 0.0
    evaluating = False
    for m in _LINE.finditer(clean(text)):
        if m.group("step") is not None:
            step, evaluating = float(m.group("step")), False
        elif m.group("eval") is not None:
            evaluating = True
        elif m.group("train") is not None:
            evaluating = False
        else:
            value = to_float(m.group("value"))
            if value is None:
                continue
            raw = m.group("name")
            if evaluating:
                name = "val_" + (raw[4:] if raw.startswith("avg_") else raw)
            else:
                name = _TRAIN_NAMES.get(raw, raw)
            xs, vs = columns.setdefault(name, ([], []))
            xs.append(step)
            vs.append(value)
    if not columns:
        raise InvalidInput("no Coqui trainer metrics found: expected `GLOBAL_STEP: N` blocks with "
                           "`| > loss: X` lines")
    return build_run(((n, xs, vs) for n, (xs, vs) in columns.items()), {"framework": "coqui-tts"},
                     x_axis="step", max_points=max_points)
