"""`read_post` on the founding examples (verbatim) and on the layouts people paste code in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lossdoctor.diagnose.code import check_post
from lossdoctor.exceptions import InputTooLarge
from lossdoctor.ingest.post import MAX_POST_CHARS, Post, read_post

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


def example(prefix: str) -> Post:
    (path,) = EXAMPLES.glob(f"{prefix}_*.txt")
    return read_post(path.read_text(encoding="utf-8"))


def test_000_log_then_flattened_pytorch_model() -> None:
    post = example("000")
    assert post.run is not None
    val = post.run.get("val_loss")
    assert val is not None
    assert list(val.steps) == [1, 2, 3, 4, 5]
    assert val.values[2] == pytest.approx(184.54528227306548)
    assert len(post.code_blocks) == 1
    (block,) = post.code_blocks
    assert block.text.startswith("class RNN(nn.Module):") and block.text.endswith(".zero_())")
    assert (block.language, block.framework, block.line) == ("python", "pytorch", None)
    assert all(end <= block.start for _, end in post.series_spans)  # the log is not code
    findings = {f.rule: f for f in check_post(post)}
    assert findings["batchnorm_after_recurrent"].explains == ("val_spike",)
    assert findings["batchnorm_after_recurrent"].snippet == "x = self.bn(x)"
    assert findings["embedding_from_pretrained_discarded"].snippet == (
        "nn.Embedding.from_pretrained(torch.from_numpy(pretrained_embedding))")
    assert "lstm_dropout_single_layer" not in findings  # num_layers=n_layers is a variable
    assert {s.code for s in post.symptoms} == {"val_spike"}


def test_001_description_only_overfitting_and_overconfidence() -> None:
    post = example("001")
    assert post.run is None and post.series_spans == []
    assert {s.code for s in post.symptoms} == {"overfitting", "overconfidence"}
    (block,) = post.code_blocks
    assert block.text.startswith("from torch import nn") and block.text.rstrip().endswith("return x")
    assert (block.framework, block.line) == ("pytorch", 7)
    assert check_post(post) == []


def test_002_divergence_from_the_prose() -> None:
    post = example("002")
    assert post.run is None and post.code_blocks == []
    assert {s.code for s in post.symptoms} == {"divergence"}
    assert any(s.phrase == "Loss decreases and then increases" for s in post.symptoms)


def test_003_numbers_and_no_code_findings() -> None:
    post = example("003")
    assert post.run is not None
    assert set(post.run.series) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert list(post.run.series["val_loss"].steps) == [1, 2, 3, 4, 5, 75, 76, 77]
    assert post.code_blocks == [] and check_post(post) == []
    assert "overfitting" in {s.code for s in post.symptoms}  # "validation loss increases to a high value"


def test_004_flattened_keras_code_and_nan_weights() -> None:
    post = example("004")
    assert post.run is None  # `SGD(lr=0.04)` in the code is not a learning-rate log
    assert {s.code for s in post.symptoms} == {"exploding_nan"}
    assert not any(s.phrase == "nan" and post.text[s.start - 15 : s.start].endswith("without facing ")
                   for s in post.symptoms)
    assert any(b.framework == "keras" and "autoencoder.compile(" in b.text for b in post.code_blocks)
    findings = {f.rule: f for f in check_post(post)}
    no_softmax = findings["no_softmax_before_categorical_crossentropy"]
    assert no_softmax.snippet == "LSTM(VOCAB_SIZE, return_sequences=True)"
    assert no_softmax.explains == ("exploding_nan",) and no_softmax.severity == "error"
    assert findings["vocabulary_truncated"].severity == "info"
    assert "2,000 of 114,490" in findings["vocabulary_truncated"].why
    assert post.text[no_softmax.start : no_softmax.end] == no_softmax.snippet


FENCED = """I train this and the loss is stuck at 0.693:

```python
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
```

and the output:

```
epoch 1 loss: 0.6931 acc: 0.50
epoch 2 loss: 0.6931 acc: 0.50
epoch 3 loss: 0.6930 acc: 0.50
```
"""


@pytest.mark.parametrize("flat", [False, True])
def test_fenced_code_and_fenced_log(flat: bool) -> None:
    text = " ".join(FENCED.split()) if flat else FENCED
    post = read_post(text)
    (block,) = post.code_blocks
    assert block.text.startswith("model = Net()") and block.text.endswith("optimizer.step()")
    assert block.language == "python" and block.framework == "pytorch"
    assert post.run is not None and post.run.get("train_loss") is not None
    loss = post.run.get("train_loss")
    assert loss is not None and np.allclose(loss.values, [0.6931, 0.6931, 0.6930])
    assert {s.code for s in post.symptoms} == {"plateau"}


INDENTED = """Here is my loop, I cannot see the bug.

    for epoch in range(epochs):
        for batch in train_dl:
            out = net(batch.x)
            loss = loss_fn(out, batch.y)
            loss.backward()
            opt.step()

The training loss fluctuates a lot and never goes down. What am I missing?
"""


def test_markdown_indented_block_and_prose_after_it() -> None:
    post = read_post(INDENTED)
    (block,) = post.code_blocks
    assert block.text.startswith("for epoch in range(epochs):") and block.text.endswith("opt.step()")
    assert block.line == 3
    assert {s.code for s in post.symptoms} == {"oscillation"}
    assert [f.rule for f in check_post(post)] == ["missing_zero_grad"]


def test_a_call_mentioned_in_a_sentence_is_not_a_code_block() -> None:
    post = read_post("The calculation looks alright, even though you could use torch.argmax(logits, 1), since the "
                     "predicted class will be the same.")
    assert post.code_blocks == []


def test_prose_blanks_code_and_logs_but_keeps_offsets() -> None:
    post = example("000")
    prose = post.prose()
    assert len(prose) == len(post.text)
    assert "nn.Module" not in prose and "184.545" not in prose
    assert "validation loss shoots up" in prose


def test_input_cap() -> None:
    with pytest.raises(InputTooLarge):
        read_post("a" * (MAX_POST_CHARS + 1))


def test_code_named_inside_a_sentence_is_prose() -> None:
    text = "I set model.eval() and used torch.no_grad() but the val_loss still jumps up and down a lot."
    post = read_post(text)
    assert post.code_blocks == []
    assert {s.code for s in post.symptoms} == {"oscillation"}


@pytest.mark.parametrize("case_id", ["009", "015", "028", "042"])
def test_a_pasted_structured_file_is_read_with_its_own_parser(case_id: str) -> None:
    """Keras CSVLogger files (CRLF included) and history JSON pasted as text: read as the file they are."""
    import json

    case = json.loads((Path(__file__).parents[1] / "data" / "real-logs" / f"{case_id}.json").read_text())
    post = read_post(case["raw"])
    assert post.run is not None
    assert {"train_loss", "val_loss"} <= set(post.run.series)
    sent = case["payload"]["metrics"]["val_loss"]
    assert len(post.run.series["val_loss"]) == len(sent["values"] if isinstance(sent, dict) else sent)


def test_a_csv_inside_a_fence_in_prose_is_found_with_its_span() -> None:
    rows = "\n".join(f"{e},{1.0 / (e + 1):.4f},{0.9 + 0.05 * e:.4f}" for e in range(8))
    text = f"My val loss goes up, why?\n\n```\nepoch,loss,val_loss\n{rows}\n```\nThanks!"
    post = read_post(text)
    assert post.run is not None and len(post.run.series["val_loss"]) == 8
    (start, end), = post.series_spans
    assert text[start:end].startswith("epoch,loss,val_loss") and text[start:end].endswith(rows.splitlines()[-1])
