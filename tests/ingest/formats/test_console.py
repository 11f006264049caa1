"""The console grammar: PyTorch prints, tqdm, nanoGPT, logging and key=value lines, with or without breaks."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from lossdoctor.exceptions import InputTooLarge
from lossdoctor.ingest.formats import parse_log_text
from lossdoctor.ingest.formats._common import MAX_TEXT_CHARS
from lossdoctor.run import Run
from tests.ingest.formats.helpers import DATA

FOUNDING_000 = (DATA / "examples" / "000_9fcdc0dc9b18d86b.txt").read_text(encoding="utf-8")


def read(text: str) -> Run:
    found = parse_log_text(text)
    assert found is not None
    return found[0]


def curve(run: Run, name: str) -> tuple[list[float], list[float]]:
    series = run.get(name)
    assert series is not None, f"{name} missing; got {sorted(run.series)}"
    return series.steps.tolist(), series.values.tolist()


def test_founding_example_000_one_line_gives_fractional_train_epochs() -> None:
    assert (
        "\n"
        not in FOUNDING_000[FOUNDING_000.index("Training for") : FOUNDING_000.index("Network Architecture")]
    )
    run = read(FOUNDING_000)
    assert run.x_axis == "epoch"
    steps, values = curve(run, "train_loss")
    assert steps == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    assert values[0] == pytest.approx(5.659843604564667) and values[-1] == pytest.approx(4.764066659212112)
    steps, values = curve(run, "val_loss")
    assert steps == [1, 2, 3, 4, 5]
    assert values == pytest.approx([5.2505, 5.1599, 184.545, 77.254, 435.222], rel=1e-4)


def test_founding_example_000_spans_cover_the_log_and_not_the_code() -> None:
    _, spans = parse_log_text(FOUNDING_000) or (None, [])
    assert len(spans) == 1
    start, end = spans[0]
    assert FOUNDING_000[start:end].startswith("Epoch: 1/5 Loss: 5.659843604564667")
    assert FOUNDING_000[start:end].endswith("435.22167629665796")
    assert "class RNN" in FOUNDING_000[end:]


STYLES: dict[str, tuple[str, str, dict[str, tuple[list[float], list[float]]]]] = {
    "pytorch_tutorial_steps": (
        "Epoch [1/2], Step [100/200], Loss: 0.9000\nEpoch [1/2], Step [200/200], Loss: 0.7000\n"
        "Epoch [2/2], Step [100/200], Loss: 0.5000\nEpoch [2/2], Step [200/200], Loss: 0.4000\n",
        "epoch",
        {"train_loss": ([0.5, 1.0, 1.5, 2.0], [0.9, 0.7, 0.5, 0.4])},
    ),
    "pipes_and_percent": (
        "epoch 1 | train loss 0.90 | val loss 0.95 | acc 61.2%\nepoch 2 | train loss 0.52 | val loss 0.61 | "
        "acc 81.2%\n",
        "epoch",
        {
            "train_loss": ([1, 2], [0.9, 0.52]),
            "val_loss": ([1, 2], [0.95, 0.61]),
            "train_accuracy": ([1, 2], [0.612, 0.812]),
        },
    ),
    "cifar_tutorial_pairs": (
        "[1,  2000] loss: 2.187\n[1,  4000] loss: 1.852\n[2,  2000] loss: 1.512\n[2,  4000] loss: 1.455\n",
        "epoch",
        {"train_loss": ([0.5, 1.0, 1.5, 2.0], [2.187, 1.852, 1.512, 1.455])},
    ),
    "tqdm_postfix": (
        "Epoch 1: 100%|██████████| 50/50 [00:01<00:00, 40.1it/s, loss=0.923, v_num=0]\n"
        "Epoch 2:  40%|████      | 20/50 [00:00<00:00, 40.1it/s, loss=0.7]\r"
        "Epoch 2: 100%|██████████| 50/50 [00:01<00:00, 40.1it/s, loss=0.612, v_num=0]\n",
        "epoch",
        {"train_loss": ([1, 2], [0.923, 0.612])},
    ),
    "nanogpt": (
        "iter 0: loss 10.9512, time 1051.12ms, mfu -100.00%\niter 10: loss 9.5000, time 30.12ms, mfu 12.00%\n"
        "step 20: train loss 8.9000, val loss 9.1000\niter 20: loss 8.7000, time 30.00ms, mfu 12.10%\n",
        "step",
        {"train_loss": ([0, 10, 20], [10.9512, 9.5, 8.7]), "val_loss": ([20], [9.1])},
    ),
    "step_key_value": (
        "step 0 train/loss=0.68 train/lr=4e-05\nstep 1 train/loss=0.69 train/lr=5e-05\nstep 1 val/loss=0.7\n"
        "step 2 train/loss=inf train/grad_norm=nan train/lr=6e-05\n",
        "step",
        {
            "train_loss": ([0, 1, 2], [0.68, 0.69, np.inf]),
            "lr": ([0, 1, 2], [4e-5, 5e-5, 6e-5]),
            "val_loss": ([1], [0.7]),
            "grad_norm": ([2], [np.nan]),
        },
    ),
    "python_logging_without_steps": (
        "2018-03-23 15:29:33,355:INFO: train loss:1.10886\n2018-03-23 15:31:41,870:INFO: train loss:1.53702\n"
        "2018-03-23 15:33:53,753:INFO: train loss:nan\n",
        "step",
        {"train_loss": ([1, 2, 3], [1.10886, 1.53702, np.nan])},
    ),
    "hf_dict_prints_transformers5": (
        "{'loss': '0.692', 'grad_norm': '0.18', 'learning_rate': '0.0009', 'epoch': '0.5'}\n"
        "{'loss': '0.675', 'grad_norm': '0.52', 'learning_rate': '0.0006', 'epoch': '1'}\n"
        "{'eval_loss': '0.66', 'eval_accuracy': '0.93', 'eval_runtime': '0.01', 'epoch': '1'}\n"
        "{'train_runtime': '0.39', 'train_samples_per_second': '2442', 'train_loss': '0.58', 'epoch': '1'}\n",
        "epoch",
        {
            "train_loss": ([0.5, 1.0], [0.692, 0.675]),
            "val_loss": ([1.0], [0.66]),
            "val_accuracy": ([1.0], [0.93]),
        },
    ),
    "keras2_verbose2": (
        "Epoch 1/3\n - 2s - loss: 0.6 - acc: 0.7 - val_loss: 0.5 - val_acc: 0.8\nEpoch 2/3\n"
        " - 1s - loss: 0.4 - acc: 0.8 - val_loss: 0.45 - val_acc: 0.82\n",
        "epoch",
        {"train_loss": ([1, 2], [0.6, 0.4]), "val_accuracy": ([1, 2], [0.8, 0.82])},
    ),
    "zero_based_epochs": (
        "Epoch 0: \nTrain loss 0.34\nValid loss: 5.11\n\nEpoch 1: \nTrain loss 0.21\nValid loss: 3.28\n",
        "epoch",
        {"train_loss": ([1, 2], [0.34, 0.21]), "val_loss": ([1, 2], [5.11, 3.28])},
    ),
    "camel_case_names": (
        "Epoch 81, Loss: 0.000129, ValLoss: 0.000108\nEpoch 82, Loss: 0.000128, ValLoss: 0.000107\n",
        "epoch",
        {"train_loss": ([81, 82], [0.000129, 0.000128]), "val_loss": ([81, 82], [0.000108, 0.000107])},
    ),
}


@pytest.mark.parametrize("flat", [False, True], ids=["lines", "one_line"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_console_styles(style: str, flat: bool) -> None:
    text, axis, expected = STYLES[style]
    if flat:
        text = text.replace("\n", " ").replace("\r", " ")
    run = read(text)
    assert run.x_axis == axis
    for name, (steps, values) in expected.items():
        got_steps, got_values = curve(run, name)
        assert got_steps == pytest.approx(steps)
        np.testing.assert_allclose(got_values, values, rtol=1e-9)


def test_hf_summary_average_is_not_a_train_loss_point() -> None:
    run = read(STYLES["hf_dict_prints_transformers5"][0])
    assert 0.58 not in curve(run, "train_loss")[1]


@pytest.mark.parametrize(
    "prose",
    [
        "I am not even sure how a loss of 184 is even possible for softmax and cross-entropy loss.",
        "I lowered the learning rate from 0.01 to 1e-3 and it had no effect after 20 epochs.",
        "[turn 0 by someone, continued]\nThanks, that fixed it (version 0.4.1).",
        "",
    ],
)
def test_prose_without_a_log_is_none(prose: str) -> None:
    assert parse_log_text(prose) is None


def test_a_log_between_prose_and_code() -> None:
    text = (
        "My model overfits, see:\n```\nEpoch 1/3\nloss: 0.9 - val_loss: 1.0\nEpoch 2/3\n"
        "loss: 0.5 - val_loss: 1.1"
        "\n```\nHere is my code: model.add(Dropout(0.5)); model.compile(lr=0.01)\n"
    )
    found = parse_log_text(text)
    assert found is not None
    run, spans = found
    assert sorted(run.series) == ["train_loss", "val_loss"]
    logged = "".join(text[a:b] for a, b in spans)
    assert "Epoch 1/3" in logged and "val_loss: 1.1" in logged and "Dropout" not in logged


def test_the_step_counter_going_back_keeps_the_last_run() -> None:
    run = read("step 10 loss=3.0\nstep 20 loss=2.0\nstep 30 loss=1.5\nstep 10 loss=2.9\nstep 20 loss=2.1\n")
    assert curve(run, "train_loss") == ([10, 20], [2.9, 2.1])
    assert any("goes back" in note for note in run.notes)


def test_metrics_before_the_first_banner_belong_to_the_epoch_before() -> None:
    run = read(
        "train loss = 4.60 | test loss = 4.61\n=== epoch 45 (lr: 0.009) ===\n"
        "train loss = 4.59 | test loss = 4.60\n=== epoch 46 (lr: 0.008) ===\n"
    )
    assert curve(run, "train_loss") == ([44, 45], [4.60, 4.59])
    assert curve(run, "lr") == ([45, 46], [0.009, 0.008])


def test_input_over_the_cap_is_refused() -> None:
    with pytest.raises(InputTooLarge):
        parse_log_text("x" * (MAX_TEXT_CHARS + 1))


PATHOLOGICAL = [
    "a ",
    "1",
    "-",
    "[",
    "Epoch ",
    "loss: ",
    "1/2 ",
    "loss: 1 ",
    "Epoch 1 loss 0.5 ",
    "\x1b[",
    "e1e1",
    "[1, 2]",
    "..",
    "nan",
    "\r",
]


@pytest.mark.parametrize("unit", PATHOLOGICAL)
def test_parsing_time_grows_linearly(unit: str) -> None:
    """Doubling the input about doubles the time (no backtracking blow-up) on worst-case token soups."""

    def timed(n: int) -> float:
        text = unit * (n // len(unit))
        best = float("inf")
        for _ in range(2):  # CPU time, best of two, no GC pauses: measure the algorithm, not the machine
            gc.collect()
            gc.disable()
            try:
                start = time.process_time()
                parse_log_text(text)
                best = min(best, time.process_time() - start)
            finally:
                gc.enable()
        return best

    small, large = timed(100_000), timed(200_000)
    assert large < 3 * small + 0.05
    assert large < 5.0


def test_a_name_before_the_epoch_batch_pair_names_the_value_after_its_legend() -> None:
    """Real log 044 (`print('Loss [%d, %d](epoch, minibatch): ' ...)`) and the PyTorch CIFAR tutorial's
    `[1,  2000] loss: 2.176` are the same record with the name on either side of the pair."""
    from lossdoctor.ingest.formats import parse_log_text

    named = "Loss [65, 200](epoch, minibatch):  2.54\nLoss [65, 300](epoch, minibatch):  2.53\n" \
            "Loss [66, 100](epoch, minibatch):  2.52\nLoss [66, 200](epoch, minibatch):  2.51\n"
    tutorial = "[65,  200] loss: 2.54\n[65,  300] loss: 2.53\n[66,  100] loss: 2.52\n[66,  200] loss: 2.51\n"
    runs = [parse_log_text(text) for text in (named, tutorial)]
    assert all(r is not None and list(r[0].series) == ["train_loss"] for r in runs)
    values = [list(r[0].series["train_loss"].values) for r in runs if r is not None]
    assert values[0] == values[1] == [2.54, 2.53, 2.52, 2.51]


def test_the_tutorials_accuracy_print_is_the_splits_accuracy() -> None:
    """`Accuracy of the network on the 10000 test images: 54 %` (the PyTorch CIFAR tutorial) and real log 044's
    `Accuracy on 50,000 train images:  40.846 %` name an accuracy before the count, not `test images`."""
    text = ("Loss [70, 100](epoch, minibatch):  2.45\nLoss [70, 200](epoch, minibatch):  2.44\n"
            "Accuracy on 50,000 train images:  40.846 %\nAccuracy on 10,000 test images:  34.48 %\n"
            "Loss [71, 100](epoch, minibatch):  2.42\n"
            "Accuracy of the network on the 10000 test images: 54 %\n")
    run = read(text)
    assert run.series["train_accuracy"].values.tolist() == [0.40846]
    assert run.series["val_accuracy"].values.tolist() == [0.3448, 0.54]
    assert run.series["val_accuracy"].source_name == "test_accuracy"
    assert "test images" not in run.series and "train images" not in run.series


def test_a_count_of_split_images_without_accuracy_is_left_alone() -> None:
    run = read("epoch 1 loss: 0.9\nepoch 2 loss: 0.7\nLoaded 10000 test images: 3 s\n")
    assert "val_accuracy" not in run.series


def test_a_loss_on_a_split_after_an_accuracy_stays_a_loss() -> None:
    run = read("epoch 1 train acc: 0.80 loss on the val set: 0.52\nepoch 2 train acc: 0.85 loss on the val set: 0.49\n")
    assert "val_accuracy" not in run.series
    assert run.series["train_accuracy"].values.tolist() == [0.80, 0.85]


def test_the_tutorials_accuracy_without_its_percent_sign_is_still_a_fraction() -> None:
    run = read("[1,  2000] loss: 2.187\n[1,  4000] loss: 1.853\n"
               "Accuracy of the network on the 10000 test images: 54\n")
    assert run.series["val_accuracy"].values.tolist() == [0.54]
