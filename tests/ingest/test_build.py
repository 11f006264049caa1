from __future__ import annotations

import math

import numpy as np
import pytest

from lossdoctor.exceptions import InputTooLarge, InvalidInput
from lossdoctor.ingest.build import build_meta, build_run, make_series, parse_value
from lossdoctor.ingest.names import canonical_name


@pytest.mark.parametrize(("name", "canonical"), [
    ("loss", "train_loss"), ("training_loss", "train_loss"), ("Train Loss", "train_loss"),
    ("val_loss", "val_loss"), ("validation_loss", "val_loss"), ("valid_loss", "val_loss"), ("eval_loss", "val_loss"),
    ("acc", "train_accuracy"), ("accuracy", "train_accuracy"), ("train_acc", "train_accuracy"),
    ("val_acc", "val_accuracy"), ("val_accuracy", "val_accuracy"), ("learning_rate", "lr"),
    ("grad_norm", "grad_norm"), ("mel_loss", "mel_loss"), ("  custom  ", "custom"),
])
def test_names_are_normalised(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


@pytest.mark.parametrize(("raw", "expected"), [
    (1, 1.0), (0.5, 0.5), ("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf), ("inf", math.inf),
    (" nan ", math.nan), ("1e-3", 1e-3), (None, None),
])
def test_values(raw: object, expected: float | None) -> None:
    got = parse_value(raw, "x")
    if expected is None or not math.isnan(expected):
        assert got == expected
    else:
        assert got is not None and math.isnan(got)


@pytest.mark.parametrize("raw", [True, "abc", [1], {"a": 1}])
def test_bad_values_name_their_place(raw: object) -> None:
    with pytest.raises(InvalidInput, match="value 3"):
        make_series("loss", None, [1.0, 2.0, 3.0, raw])


def test_lists_are_one_based_epochs_and_nulls_are_gaps() -> None:
    s = make_series("loss", None, [1.0, None, 0.5, "NaN"])
    assert s.steps.tolist() == [1.0, 3.0, 4.0]
    assert s.values[:2].tolist() == [1.0, 0.5] and math.isnan(s.values[2])


def test_steps_are_sorted_and_a_repeated_step_keeps_its_last_value() -> None:
    s = make_series("loss", [3, 1, 2, 2], [0.3, 0.1, 0.2, 0.25])
    assert s.steps.tolist() == [1.0, 2.0, 3.0]
    assert s.values.tolist() == [0.1, 0.25, 0.3]


def test_point_limit() -> None:
    with pytest.raises(InputTooLarge):
        make_series("loss", None, [1.0] * 11, max_points=10)


def test_two_spellings_of_one_curve_keep_both() -> None:
    run = build_run([("loss", None, [1, 2, 3]), ("train_loss", None, [3, 2, 1])])
    assert set(run.series) == {"train_loss", "loss"}
    assert run.series["train_loss"].values.tolist() == [3.0, 2.0, 1.0]  # the exact spelling wins
    assert run.series["loss"].values.tolist() == [1.0, 2.0, 3.0]
    assert run.notes


def test_meta_keeps_unknown_keys_and_types_known_ones() -> None:
    meta = build_meta({"num_classes": 3, "learning_rate": 1, "owner": "me"})
    assert meta.num_classes == 3 and meta.learning_rate == 1.0 and meta.extra == {"owner": "me"}
    with pytest.raises(InvalidInput, match="meta.batch_size"):
        build_meta({"batch_size": 1.5})


def test_fingerprint_ignores_spelling_but_not_values() -> None:
    a = build_run([("loss", None, [1.0, 0.5])])
    b = build_run([("training_loss", None, [1.0, 0.5])])
    c = build_run([("loss", None, [1.0, 0.6])])
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert np.array_equal(a.series["train_loss"].values, b.series["train_loss"].values)
