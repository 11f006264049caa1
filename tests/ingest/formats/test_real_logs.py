"""The 40 payload-bearing cases of the real-log corpus: their raw text must read as their payload.

For train_loss and val_loss, every (step, value) of the payload must be in our series (within rounding)
on the same x axis. Epochs the file counts from 0 are 1-based here (the `Run` convention), so on the
epoch axis one uniform shift of +1 is accepted. Extra points (e.g. an epoch the transcriber left out
because it was cut mid-line) are allowed.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from lossdoctor.exceptions import LossDoctorError
from lossdoctor.ingest.formats import parse
from lossdoctor.run import Run
from tests.ingest.formats.helpers import DATA

CASES = {
    p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((DATA / "real-logs").glob("*.json"))
}
WITH_PAYLOAD = sorted(k for k, v in CASES.items() if v.get("payload"))
UNSUPPORTED = {
    "038": "headerless CSV rows pasted in an issue: the columns have no names to read",
    "049": "two train losses per epoch: we read tqdm's `loss=` postfix as train_loss, the payload names the "
    "printed epoch mean `train_loss` (we keep it as `Mean Training loss`)",
}
SHOWN = ("train_loss", "val_loss")


def _value(v: Any) -> float:
    return (
        {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v] if isinstance(v, str) else float(v)
    )


def mismatches(case: dict[str, Any], run: Run) -> list[str]:
    payload, axis = case["payload"]["metrics"], case["payload"]["meta"]["x_axis"]
    if run.x_axis != axis:
        return [f"x axis {run.x_axis} != {axis}"]
    problems: list[str] = []
    for name in (n for n in SHOWN if n in payload):
        series = run.get(name)
        if series is None:
            problems.append(f"{name} missing")
            continue
        ours = dict(zip(series.steps.tolist(), series.values.tolist(), strict=True))
        best = None
        for shift in (0, 1) if axis == "epoch" else (0,):
            missed = sum(
                1
                for step, value in zip(
                    payload[name]["steps"], map(_value, payload[name]["values"]), strict=True
                )
                if not _close(ours.get(step + shift), value)
            )
            best = missed if best is None else min(best, missed)
        if best:
            problems.append(f"{name}: {best} of {len(payload[name]['steps'])} points differ")
    return problems


def _close(got: float | None, want: float) -> bool:
    if got is None:
        return False
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return got == want or abs(got - want) <= 1e-6 * max(1.0, abs(want))


def _read(case: dict[str, Any]) -> Run | None:
    try:
        return parse(case["raw"].encode("utf-8"))
    except LossDoctorError:
        return None


@pytest.mark.parametrize("case_id", [c for c in WITH_PAYLOAD if c not in UNSUPPORTED])
def test_case_reads_as_its_payload(case_id: str) -> None:
    run = _read(CASES[case_id])
    assert run is not None
    assert mismatches(CASES[case_id], run) == []


def test_match_rate(capsys: pytest.CaptureFixture[str]) -> None:
    matched = [
        c for c in WITH_PAYLOAD if (run := _read(CASES[c])) is not None and not mismatches(CASES[c], run)
    ]
    assert len(WITH_PAYLOAD) == 40
    assert set(WITH_PAYLOAD) - set(matched) == set(UNSUPPORTED)
    with capsys.disabled():
        print(
            f"\nreal-log payload match rate: {len(matched)}/{len(WITH_PAYLOAD)}; "
            f"unsupported: {', '.join(sorted(UNSUPPORTED))}"
        )
