"""Plots: what a person must see at a glance is in the picture (checked in the SVG's ids and text)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from lossdoctor.engine import diagnose, diagnosis_id
from lossdoctor.ingest.payload import run_from_payload
from lossdoctor.render.json import curves_json, diagnosis_json, plot_indices
from lossdoctor.render.plot import plot
from tests.conftest import DATA, load_payload

SVG = "{http://www.w3.org/2000/svg}"


def draw(payload: dict[str, Any], fmt: str = "svg") -> tuple[dict[str, Any], bytes]:
    run = run_from_payload(payload)
    document = diagnosis_json(diagnose(run), diagnosis_id(run))
    curves = json.loads(json.dumps(curves_json(run)))  # as stored: through JSON
    return document, plot(document, curves, fmt)  # type: ignore[arg-type]


def ids(svg: bytes) -> set[str]:
    return {e.get("id", "") for e in ET.fromstring(svg).iter()}


def texts(svg: bytes) -> str:
    return " ".join("".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{SVG}text"))


def test_003_marks_the_overfitting_onset_and_the_best_epoch() -> None:
    document, svg = draw(load_payload("003_overfitting.json"))
    assert [f["code"] for f in document["findings"]] == ["overfitting"]
    assert {"onset-overfitting", "finding-overfitting", "best"} <= ids(svg)
    words = texts(svg)
    assert "overfitting" in words and "best epoch (3)" in words and "val_loss" in words


def test_000_marks_the_val_spike_on_a_log_scale() -> None:
    _, svg = draw(load_payload("000_val_spike.json"))
    assert "onset-val_spike" in ids(svg)
    assert "loss (log)" in texts(svg)  # 5 -> 184: a linear axis would flatten the training curve


def test_non_finite_values_are_drawn_where_they_happen() -> None:
    values: list[Any] = [2.0, 1.5, 1.2, 1.1, 3.0, 40.0, "NaN", "NaN", "Infinity"]
    document, svg = draw({"metrics": {"loss": values}})
    assert "exploding_nan" in [f["code"] for f in document["findings"]]
    assert "non-finite" in ids(svg) and "non-finite (NaN/inf)" in texts(svg)


def test_a_post_without_numbers_gets_a_picture_that_says_so() -> None:
    document = {"id": "x", "status": "unhealthy", "series": {},
                "findings": [{"code": "exploding_nan", "severity": "error", "onset": None, "basis": "description"}]}
    svg = plot(document, {"x_axis": "epoch", "series": {}}, "svg")
    assert "no-curves" in ids(svg) and "No numbers in this input" in texts(svg)


def test_png_is_a_png_and_output_is_deterministic() -> None:
    payload = load_payload("003_overfitting.json")
    _, png = draw(payload, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert draw(payload)[1] == draw(payload)[1]


def test_a_million_step_run_keeps_its_one_step_spike_and_its_nan() -> None:
    rng = np.random.default_rng(0)
    values = 2.0 * np.exp(-np.arange(10**6) / 2e5) + 0.01 * rng.random(10**6)
    values[654_321] = 30.0
    values[900_000] = math.nan
    keep = plot_indices(values, 2000)
    assert len(keep) <= 2003
    assert 654_321 in keep and 900_000 in keep and keep[0] == 0 and keep[-1] == 10**6 - 1


def test_every_real_log_payload_can_be_drawn() -> None:
    drawn = 0
    for path in sorted((DATA / "real-logs").glob("*.json")):
        case = json.loads(path.read_text())
        payload = case.get("payload")
        if not isinstance(payload, dict) or not payload.get("metrics"):
            continue
        _, svg = draw(payload)
        assert ET.fromstring(svg).tag == f"{SVG}svg"
        drawn += 1
    assert drawn >= 20
