"""The same diagnosis in the forms people read: Markdown, a Slack card, SVG and PNG plots, through HTTP."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import DATA

EXAMPLE_000 = next((DATA / "examples").glob("000_*.txt")).read_bytes()


def test_accept_markdown_gets_the_report(client: FlaskClient, payload_003: dict[str, Any]) -> None:
    answer = client.post("/v1/diagnoses", json=payload_003, headers={"Accept": "text/markdown"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/markdown"
    assert "`overfitting` from epoch 3" in answer.get_data(as_text=True)
    assert answer.headers["Location"].startswith("/v1/diagnoses/")


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/json, text/markdown;q=0.5", ""])
def test_json_stays_the_default(client: FlaskClient, payload_003: dict[str, Any], accept: str) -> None:
    answer = client.post("/v1/diagnoses", json=payload_003, headers={"Accept": accept} if accept else {})
    assert answer.mimetype == "application/json"
    assert answer.get_json()["findings"][0]["code"] == "overfitting"


def test_slack_format_on_a_pasted_post(client: FlaskClient) -> None:
    answer = client.post("/v1/diagnoses/text?format=slack", data=EXAMPLE_000, content_type="text/plain")
    assert answer.status_code == 200
    message = answer.get_json()
    assert message["blocks"][0]["text"]["text"] == "LossDoctor: val_spike from epoch 3"
    assert message["text"].startswith("LossDoctor: val_spike")
    urls = [e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert urls[0].startswith("http://localhost/v1/diagnoses/") and urls[0].endswith("/plot.png")


def test_stored_report_plot_and_card_read_back(client: FlaskClient, payload_000: dict[str, Any]) -> None:
    created = client.post("/v1/diagnoses", json=payload_000).get_json()
    base = created["links"]["self"]
    report = client.get(f"{base}/report.md")
    assert report.status_code == 200 and report.mimetype == "text/markdown"
    assert "`val_spike` from epoch 3" in report.get_data(as_text=True)
    svg = client.get(f"{base}/plot.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"onset-val_spike" in svg.data
    assert "immutable" in svg.headers["Cache-Control"]
    png = client.get(f"{base}/plot.png")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    card = client.get(f"{base}?format=slack").get_json()
    assert card["blocks"][0]["type"] == "header"
    markdown = client.get(base, headers={"Accept": "text/markdown"})
    assert markdown.mimetype == "text/markdown"


def test_plots_of_pasted_posts_and_the_embedded_cache(embedded_client: FlaskClient) -> None:
    created = embedded_client.post("/v1/diagnoses/text", data=EXAMPLE_000, content_type="text/plain").get_json()
    svg = embedded_client.get(f"{created['links']['self']}/plot.svg")
    assert svg.status_code == 200 and b"val_loss" in svg.data


@pytest.mark.parametrize("path", ["plot.svg", "plot.png", "report.md"])
@pytest.mark.parametrize("ident", ["0" * 32, "not-hex!", "x" * 200])
def test_unknown_ids_are_404_problems(client: FlaskClient, path: str, ident: str) -> None:
    answer = client.get(f"/v1/diagnoses/{ident}/{path}")
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert "POST" in answer.get_json()["detail"] or "ids are" in answer.get_json()["detail"]


def test_file_upload_takes_input_format_and_answers_in_slack(client: FlaskClient) -> None:
    log = (DATA / "payloads" / "003_overfitting.json").read_bytes()
    answer = client.post("/v1/diagnoses/file?format=slack&input_format=lossdoctor",
                         data={"file": (io.BytesIO(log), "run.json")},
                         content_type="multipart/form-data")
    assert answer.status_code == 200
    assert answer.get_json()["blocks"][0]["text"]["text"].startswith("LossDoctor: overfitting from epoch 3")
    forced = client.post("/v1/diagnoses/file?format=lossdoctor",  # the older spelling still names the input
                         data={"file": (io.BytesIO(log), "run.json")},
                         content_type="multipart/form-data")
    assert forced.get_json()["source"]["format"] == "lossdoctor"


def test_markdown_format_parameter_and_unknown_formats(client: FlaskClient, payload_003: dict[str, Any]) -> None:
    markdown = client.post("/v1/diagnoses?format=markdown", json=payload_003)
    assert markdown.mimetype == "text/markdown"
    bad = client.post("/v1/diagnoses?format=xml", json=payload_003)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "json" in bad.get_json()["detail"] and "slack" in bad.get_json()["detail"]
