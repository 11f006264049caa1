"""Caffe glog output: `Iteration N (...), loss = X`, `Train/Test net output #k: name = X`, `lr = X`.

The console grammar would fold the smoothed `Iteration N, loss` and the minibatch `Train net output`
loss into one curve, so Caffe gets its own small grammar (it also works when line breaks were lost).
"""

from __future__ import annotations

import re

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats._common import NUMBER, check_size, to_float
from lossdoctor.run import Run

_VALUE = rf"(?P<value>-?nan|-?inf|{NUMBER})"
_LINE = re.compile(
    r"Iteration (?P<iter>\d{1,12})"
    rf"(?:(?: \([^()\n]{{0,120}}\))?, loss = {_VALUE}|, lr = (?P<lr>-?nan|-?inf|{NUMBER}))?"
    rf"|(?P<net>Train|Test) net output #\d{{1,4}}: (?P<name>[\w/.-]{{1,64}}) = (?P<out>-?nan|-?inf|{NUMBER})"
)


def detect(text: str) -> bool:
    head = text[:200_000]
    return ("solver.cpp" in head or "net output #" in head) and re.search(r"Iteration \d+", head) is not None


def extent(text: str) -> tuple[int, int] | None:
    """Where the log's lines start and end inside a larger text."""
    matches = [m.span() for m in _LINE.finditer(text)]
    return (matches[0][0], matches[-1][1]) if matches else None


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Smoothed loss -> train_loss; Train net outputs -> train_<name> (the minibatch `loss` ->
    train_loss_batch); Test net outputs -> val_<name>."""
    check_size(text)
    columns: dict[str, tuple[list[float], list[float]]] = {}
    iteration: float | None = None

    def add(name: str, raw: str) -> None:
        value = to_float(raw)
        if iteration is not None and value is not None:
            xs, vs = columns.setdefault(name, ([], []))
            xs.append(iteration)
            vs.append(value)

    for m in _LINE.finditer(text):
        if m.group("iter") is not None:
            iteration = float(m.group("iter"))
            if m.group("value") is not None:
                add("train_loss", m.group("value"))
            elif m.group("lr") is not None:
                add("lr", m.group("lr"))
        elif m.group("net") == "Train":
            name = m.group("name")
            add("train_loss_batch" if name == "loss" else f"train_{name}", m.group("out"))
        else:
            add(f"val_{m.group('name')}", m.group("out"))
    if not columns:
        raise InvalidInput("no Caffe metrics found: expected lines such as `Iteration 100 (...), "
                           "loss = 0.52`")
    return build_run(((n, xs, vs) for n, (xs, vs) in columns.items()), {"framework": "caffe"},
                     x_axis="step", max_points=max_points)
