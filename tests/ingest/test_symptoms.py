"""Described symptoms: paraphrases of each family, negation, and what must not match."""

from __future__ import annotations

import pytest

from lossdoctor.ingest.post import read_post
from lossdoctor.ingest.symptoms import find_symptoms


def codes(text: str) -> set[str]:
    return {s.code for s in find_symptoms(text)}


PARAPHRASES: list[tuple[str, str]] = [
    ("overfitting", "My validation loss keeps increasing after epoch 10 while the training loss decreases."),
    ("overfitting", "The val loss starts to go up after a few epochs."),
    ("overfitting", "Why is my test loss getting worse every epoch?"),
    ("overfitting", "I think the network is overfitting."),
    ("overfitting", "What explains the increasing validation loss?"),
    ("divergence", "The training loss goes down for a while and then goes up again."),
    ("divergence", "loss decreases and then increases"),
    ("divergence", "After 20 epochs the training loss increases and the training accuracy drops."),
    ("divergence", "With lr=0.1 the loss diverges after a few hundred steps."),
    ("exploding_nan", "After a few batches the loss becomes NaN."),
    ("exploding_nan", "I get loss: nan from the second epoch on."),
    ("exploding_nan", "I think I have exploding gradients in my RNN."),
    ("exploding_nan", "the loss is inf after 3 steps"),
    ("exploding_nan", "when I print the weights they are nan"),
    ("val_spike", "At epoch 3 the validation loss suddenly shoots up to 180."),
    ("val_spike", "The val loss spikes every few epochs."),
    ("val_spike", "There are huge jumps in the validation loss."),
    ("loss_spike", "The training loss spikes at step 4000 and then recovers after a few hundred steps."),
    ("loss_spike", "I see sudden spikes in the training loss."),
    ("loss_spike", "Sometimes the loss suddenly jumps way up, by several times."),
    ("loss_spike", "the training loss occasionally spikes"),
    ("plateau", "My loss is stuck at 0.693 from the first epoch."),
    ("plateau", "The training loss does not decrease at all."),
    ("plateau", "the loss doesn't change no matter what learning rate I use"),
    ("plateau", "My model is not learning anything."),
    ("oscillation", "The loss fluctuates a lot between epochs."),
    ("oscillation", "my training loss oscillates and never settles"),
    ("oscillation", "The validation accuracy jumps around between 60% and 80%."),
    ("oscillation", "The loss is very unstable."),
    ("oscillation", "The train loss is very volatile, it jumps from 1.4 to 2.5 and back."),
    ("underfitting", "The training accuracy is very low, around 30%."),
    ("underfitting", "The model can't even fit the training data."),
    ("underfitting", "I suspect the model is underfitting."),
    ("val_below_train", "Why is my validation loss lower than my training loss?"),
    ("val_below_train", "The training loss is higher than the validation loss for all epochs."),
    ("val_below_train", "My validation and testing loss is lesser than the training loss."),
]


@pytest.mark.parametrize(("code", "text"), PARAPHRASES)
def test_paraphrase(code: str, text: str) -> None:
    found = find_symptoms(text)
    assert code in {s.code for s in found}
    for s in found:
        assert text[s.start : s.end] == s.phrase


@pytest.mark.parametrize("text", [
    "The model is not overfitting, the validation loss tracks the training loss.",
    "It trained for a day without any nan values.",
    "The validation loss does not increase.",
    "The training loss decreases and the validation loss decreases too.",
    "I used the KL divergence as my loss.",
    "The model got stuck in a local minimum, maybe?",
    "My validation accuracy is 92% and the training accuracy is 95%.",
    "At epoch 30 the training loss and validation loss both increased by several times.",
])
def test_no_symptom(text: str) -> None:
    assert codes(text) == set()


def test_a_falling_training_loss_is_not_paired_with_a_rising_validation_loss() -> None:
    assert codes("While the training loss decreases, the validation loss increases.") == {"overfitting"}


def test_flat_accuracy_is_overconfidence_only_next_to_a_rising_validation_loss() -> None:
    assert codes("The validation loss keeps rising but the validation accuracy stays the same.") == {
        "overfitting", "overconfidence"}
    assert codes("The validation accuracy stays the same for all epochs.") == set()
    assert "overconfidence" in codes("The model gets more confident on the wrong examples.")


def test_a_negation_two_words_back_counts_but_not_further() -> None:
    assert codes("I am not sure why the validation loss increases.") == {"overfitting"}
    assert codes("It ran without facing nan weights.") == set()


def test_spike_is_not_also_reported_as_a_rise() -> None:
    assert codes("The validation loss shoots up at epoch 3.") == {"val_spike"}


def test_big_loss_value_next_to_validation_is_a_spike() -> None:
    text = "The validation loss looks odd. How is a loss of 184 even possible with cross-entropy?"
    assert "val_spike" in codes(text)
    assert codes("My regression model has a loss of 184 after training.") == set()


def test_text_inside_code_and_logs_is_not_read_as_symptoms() -> None:
    post = read_post("Here is my code:\n\n```python\n# the loss becomes nan here\nx = torch.log(y) + model(z)\n"
                     "loss = criterion(x, t)\n```\n\nEverything trains fine.")
    assert post.code_blocks and post.symptoms == []


def test_linear_time_on_long_repetitive_prose() -> None:
    text = "the validation loss keeps on " * 20_000 + "increasing"
    assert codes(text) <= {"overfitting"}
