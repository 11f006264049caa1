"""CSV tables: Lightning, Keras CSVLogger, W&B exports, generic files and their many re-savings."""

from __future__ import annotations

import math

import pytest

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.formats import csv_table, detect_format, parse
from lossdoctor.run import Run
from tests.ingest.formats.helpers import DATA

DIVERGENCE = (DATA / "peer" / "trainspotter" / "examples" / "divergence.csv").read_bytes().decode("utf-8")


def curves(run: Run) -> dict[str, tuple[list[float], list[float]]]:
    return {n: (s.steps.tolist(), s.values.tolist()) for n, s in run.series.items()}


def same(a: Run, b: Run) -> None:
    assert a.x_axis == b.x_axis
    assert sorted(a.series) == sorted(b.series)
    for name, s in a.series.items():
        assert s.steps.tolist() == b.series[name].steps.tolist()
        assert s.values.tolist() == pytest.approx(b.series[name].values.tolist(), nan_ok=True)


def resave(text: str, sep: str = ",", comma: bool = False, bom: bool = False, spaced: bool = False) -> str:
    rows = [line.split(",") for line in text.replace("\r\n", "\n").strip().split("\n")]
    if comma:
        rows = [[c.replace(".", ",") for c in r] for r in rows]
    if spaced:
        rows[0] = [f" {h} " for h in rows[0]]
    return ("\ufeff" if bom else "") + "\r\n".join(sep.join(r) for r in rows) + "\r\n"


def test_divergence_csv_keeps_inf_and_nan_in_the_last_row() -> None:
    run = csv_table.parse(DIVERGENCE)
    assert run.x_axis == "step"
    assert run.series["train_loss"].steps[-1] == 322 and math.isinf(run.series["train_loss"].values[-1])
    assert math.isnan(run.series["grad_norm"].values[-1])
    assert len(run.series["train_loss"]) == 323 and len(run.series["val_loss"]) == 33


@pytest.mark.parametrize(
    "variant",
    [
        {"bom": True},
        {"sep": ";", "comma": True},
        {"sep": "\t"},
        {"spaced": True},
        {"sep": "\t", "comma": True},
    ],
)
def test_resaved_divergence_csv_reads_the_same(variant: dict[str, object]) -> None:
    text = resave(DIVERGENCE, **variant)  # type: ignore[arg-type]
    assert detect_format(text.encode("utf-8")) == "csv"
    same(parse(text.encode("utf-8")), csv_table.parse(DIVERGENCE))


LIGHTNING = """epoch,step,train_loss_epoch,train_loss_step,val_acc,val_loss,lr-AdamW
0,9,,2.2268,,,0.001
0,19,,2.1707,,,0.001
0,21,,,0.5491,2.1645,
0,21,2.2365,,,,
1,29,,2.0756,,,0.0009
1,39,,1.9876,,,0.0009
1,43,,,0.6102,2.0311,
1,43,2.0101,,,,
"""


def test_lightning_metrics_csv_puts_epoch_values_on_whole_epochs() -> None:
    run = csv_table.parse(LIGHTNING)
    assert run.x_axis == "epoch" and run.meta.framework == "lightning"
    got = curves(run)
    assert got["train_loss"] == ([1, 2], [2.2365, 2.0101])
    assert got["val_loss"] == ([1, 2], [2.1645, 2.0311])
    assert got["val_accuracy"][0] == [1, 2]
    steps, _ = got["train_loss_step"]
    assert steps == pytest.approx([10 / 22, 20 / 22, 1 + 8 / 22, 1 + 18 / 22])
    assert got["lr"][1] == [0.001, 0.001, 0.0009, 0.0009]


def test_keras_csvlogger_epochs_are_shifted_to_one_based() -> None:
    run = csv_table.parse("epoch,acc,loss,val_acc,val_loss\n0,0.5,0.9,0.55,0.8\n1,0.6,0.7,0.6,0.75\n")
    assert curves(run)["train_loss"] == ([1, 2], [0.9, 0.7])
    assert run.meta.framework == "keras"


def test_two_runs_appended_keep_the_last() -> None:
    text = "epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.7\n2,0.6,0.65\n0,0.95,0.85\n1,0.72,0.71\n"
    run = csv_table.parse(text)
    assert curves(run)["train_loss"] == ([1, 2], [0.95, 0.72])
    assert any("2 runs" in note for note in run.notes)


def test_repeated_header_starts_a_new_run() -> None:
    run = csv_table.parse("step,loss\n1,0.9\n2,0.8\nstep,loss\n1,0.95\n2,0.85\n3,0.7\n")
    assert curves(run)["train_loss"] == ([1, 2, 3], [0.95, 0.85, 0.7])


def test_wandb_history_csv_uses_step_and_drops_bookkeeping() -> None:
    run = csv_table.parse(
        '"_step","_runtime","_timestamp","train/loss","val/loss"\n'
        "0,1.5,1700000000,2.3,\n100,30.2,1700000030,1.2,1.4\n200,60.1,1700000060,0.8,1.1\n"
    )
    assert run.x_axis == "step"
    assert sorted(run.series) == ["train_loss", "val_loss"]
    assert curves(run)["val_loss"] == ([100, 200], [1.4, 1.1])


@pytest.mark.parametrize("bom", [False, True])
def test_wandb_chart_export_reads_the_first_run(bom: bool) -> None:
    text = (
        '"Step","run-a - train/loss","run-a - train/loss__MIN","run-a - train/loss__MAX",'
        '"run-b - train/loss","run-b - train/loss__MIN","run-b - train/loss__MAX"\n'
        "1,0.9,0.85,0.95,1.1,1.0,1.2\n2,0.7,0.65,0.75,0.95,0.9,1.0\n"
    )
    run = parse((("\ufeff" if bom else "") + text).encode())
    assert curves(run) == {"train_loss": ([1, 2], [0.9, 0.7])}
    assert any("run-b" in note for note in run.notes)


def test_wandb_chart_export_on_relative_time() -> None:
    run = csv_table.parse('"Relative Time (Process)","run-a - loss"\n0.5,0.9\n1.5,0.7\n')
    assert curves(run) == {"train_loss": ([0.5, 1.5], [0.9, 0.7])}
    assert any("relative time" in note for note in run.notes)


def test_wandb_runs_table_is_refused() -> None:
    with pytest.raises(InvalidInput, match="runs table"):
        csv_table.parse(
            "Name,State,Notes,User,Created,Runtime,loss\nrun-a,finished,,me,2024-01-01,100,0.5\n"
            "run-b,finished,,me,2024-01-02,120,0.4\n"
        )


def test_upper_case_headers_and_non_finite_tokens() -> None:
    run = csv_table.parse("GLOBAL_STEP,TRAIN_LOSS,VAL_LOSS\n1,0.9,1.0\n2,NaN,inf\n3,-Infinity,\n")
    got = curves(run)
    assert got["train_loss"][0] == [1, 2, 3]
    assert math.isnan(got["train_loss"][1][1]) and got["train_loss"][1][2] == -math.inf
    assert got["val_loss"][1][1] == math.inf


def test_rows_with_an_infinite_step_are_skipped_with_a_note() -> None:
    run = csv_table.parse("step,loss\n1,0.9\ninf,0.8\n3,0.7\n")
    assert curves(run)["train_loss"] == ([1, 3], [0.9, 0.7])
    assert any("infinite" in note for note in run.notes)


def test_text_columns_are_skipped_and_other_names_kept() -> None:
    run = csv_table.parse("epoch,phase,损失,loss\n1,train,0.5,0.9\n2,train,0.4,0.8\n")
    assert sorted(run.series) == ["train_loss", "损失"]
    assert "phase" not in run.series


def test_a_table_without_an_x_column_counts_rows_as_epochs() -> None:
    run = csv_table.parse("accuracy,loss,val_accuracy,val_loss\n0.5,0.7,0.55,0.69\n0.6,0.6,0.58,0.66\n")
    assert run.x_axis == "epoch" and curves(run)["val_loss"] == ([1, 2], [0.69, 0.66])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name,comment\nrun-a,fine\nrun-b,also fine\n", "not a CSV metric table"),
        ("epoch,notes\n1,good\n2,bad\n", "no numeric metric column"),
        ("1,0.9,0.8\n2,0.7,0.6\n3,0.5,0.4\n", "no header row"),
        ("step,loss\n", "not a CSV metric table"),
    ],
)
def test_tables_without_metrics_are_refused(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        csv_table.parse(text)


def test_a_field_past_the_csv_size_limit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        csv_table.parse('step,loss\n1,0.5\n2,"' + "x" * 200_000 + '"\n3,0.4\n')
