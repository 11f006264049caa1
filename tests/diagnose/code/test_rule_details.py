"""The finer points of each rule: variants that must and must not fire, severities, snippets, offsets."""

from __future__ import annotations

import pytest

from lossdoctor.diagnose.code import CODE_RULES, POST_RULES, check_post
from lossdoctor.ingest.post import read_post

from .helpers import LAYOUTS, as_post, block_findings, post_findings, rules

KERAS_RNN_BN = """
model = Sequential()
model.add(LSTM(128, input_shape=(50, 10), return_sequences=False))
model.add(BatchNormalization())
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam')
"""
KERAS_CONV_BN = KERAS_RNN_BN.replace("LSTM(128, input_shape=(50, 10), return_sequences=False)",
                                     "Conv1D(64, 3, input_shape=(50, 10))")


def test_the_rule_table_lists_every_rule_once() -> None:
    assert len(CODE_RULES) == 10 and set(POST_RULES) == {"vocabulary_truncated"}
    assert not set(CODE_RULES) & set(POST_RULES)


@pytest.mark.parametrize("flat", LAYOUTS)
def test_keras_batchnorm_after_lstm_explains_val_spike(flat: bool) -> None:
    found = [f for f in post_findings(KERAS_RNN_BN, flat) if f.rule == "batchnorm_after_recurrent"]
    assert [f.snippet for f in found] == ["BatchNormalization()"]
    assert found[0].explains == ("val_spike",) and found[0].severity == "warning"
    assert "batchnorm_after_recurrent" not in rules(post_findings(KERAS_CONV_BN, flat))


@pytest.mark.parametrize("flat", LAYOUTS)
@pytest.mark.parametrize(("args", "fires"), [
    ("100, 128, dropout=0.3", True),
    ("input_size=100, hidden_size=128, num_layers=1, dropout=0.2", True),
    ("100, 128, 2, dropout=0.3", False),  # positional num_layers
    ("100, 128, num_layers=n_layers, dropout=dropout", False),  # a variable: not judged (example 000)
    ("100, 128, dropout=0", False),
    ("100, 128", False),
])
def test_lstm_dropout_needs_a_known_single_layer(args: str, fires: bool, flat: bool) -> None:
    code = f"class M(nn.Module):\n    def __init__(self):\n        self.rnn = nn.GRU({args})\n"
    assert ("lstm_dropout_single_layer" in rules(block_findings(code, flat))) is fires


def test_keras_lstm_dropout_is_not_the_pytorch_rule() -> None:
    code = "model.add(LSTM(64, dropout=0.2))\nmodel.compile(loss='mse', optimizer='adam')"
    assert rules(block_findings(code, False)) == set()


FORWARDS = {
    "module attribute": ("self.out = nn.Softmax(dim=1)", "x = self.fc(x)\n        x = self.out(x)\n        return x"),
    "tensor method": ("", "return self.fc(x).softmax(dim=-1)"),
    "via variable": ("", "probs = torch.softmax(self.fc(x), 1)\n        return probs"),
}


@pytest.mark.parametrize("flat", LAYOUTS)
@pytest.mark.parametrize("variant", sorted(FORWARDS))
def test_softmax_output_variants(variant: str, flat: bool) -> None:
    init, body = FORWARDS[variant]
    code = (f"class M(nn.Module):\n    def __init__(self):\n        self.fc = nn.Linear(4, 3)\n        {init}\n"
            f"    def forward(self, x):\n        {body}\n\ncriterion = nn.CrossEntropyLoss()\n")
    found = [f for f in block_findings(code, flat) if f.rule == "softmax_before_cross_entropy"]
    assert [f.severity for f in found] == ["warning"]


@pytest.mark.parametrize("flat", LAYOUTS)
def test_log_softmax_into_cross_entropy_is_only_info_and_commented_softmax_is_ignored(flat: bool) -> None:
    base = ("class M(nn.Module):\n    def forward(self, x):\n        x = self.fc(x)\n        {line}\n        return x\n"
            "\nloss_fn = nn.CrossEntropyLoss()\n")
    found = block_findings(base.format(line="x = F.log_softmax(x, dim=1)"), flat)
    assert [(f.rule, f.severity) for f in found] == [("softmax_before_cross_entropy", "info")]
    assert block_findings(base.format(line="# x = F.softmax(x, dim=1)"), flat) == []


def test_softmax_inside_the_model_for_attention_is_not_the_output() -> None:
    code = ("class M(nn.Module):\n    def forward(self, x):\n        w = F.softmax(self.att(x), dim=1)\n"
            "        x = (w * x).sum(1)\n        return self.fc(x)\n\ncriterion = nn.CrossEntropyLoss()\n")
    assert block_findings(code, False) == []


def test_softmax_written_into_the_criterion_call() -> None:
    code = "out = model(x)\nloss = criterion(F.softmax(out, dim=1), y)\ncriterion = nn.CrossEntropyLoss()\n"
    assert rules(block_findings(code, False)) == {"softmax_before_cross_entropy"}


@pytest.mark.parametrize("flat", LAYOUTS)
def test_eval_without_no_grad_is_only_info(flat: bool) -> None:
    code = ("for x, y in train_loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()\nmodel.eval()\nfor x, y in val_loader:\n"
            "    val_loss = criterion(model(x), y)\n")
    found = [(f.rule, f.severity) for f in block_findings(code, flat)]
    assert found == [("missing_eval_mode", "info")]


def test_keras_code_with_a_test_loop_is_not_asked_for_eval_mode() -> None:
    code = ("model.compile(loss='mse', optimizer='adam')\nmodel.fit(x, y)\nfor batch in test_data:\n"
            "    print(model.predict(batch))\n")
    assert block_findings(code, False) == []


@pytest.mark.parametrize("flat", LAYOUTS)
@pytest.mark.parametrize(("before", "fires"), [
    ("self.embedding.from_pretrained(w)", True),  # class method called on the instance: still discarded
    ("self.embedding = nn.Embedding.from_pretrained(w)", False),
    ("layers = {'emb': nn.Embedding.from_pretrained(w)}", False),
    ("return nn.Embedding.from_pretrained(w)", False),
    ("make = lambda w: nn.Embedding.from_pretrained(w)", False),
])
def test_from_pretrained_is_flagged_only_when_its_result_is_dropped(before: str, fires: bool, flat: bool) -> None:
    code = f"class M(nn.Module):\n    def __init__(self, w):\n        super().__init__()\n        {before}\n"
    assert ("embedding_from_pretrained_discarded" in rules(block_findings(code, flat))) is fires


@pytest.mark.parametrize("flat", LAYOUTS)
def test_linear_output_with_from_logits_false_is_an_error(flat: bool) -> None:
    code = ("model = Sequential([Dense(64, activation='relu'), Dense(10)])\n"
            "model.compile(optimizer='adam', loss=CategoricalCrossentropy(from_logits=False))\n")
    found = [f for f in block_findings(code, flat) if f.rule == "keras_from_logits_mismatch"]
    assert [f.severity for f in found] == ["error"]
    assert "no_softmax_before_categorical_crossentropy" not in rules(block_findings(code, flat))


@pytest.mark.parametrize("flat", LAYOUTS)
def test_time_distributed_softmax_counts_as_a_softmax_output(flat: bool) -> None:
    code = ("decoded = LSTM(256, return_sequences=True)(decoded)\n"
            "decoded = TimeDistributed(Dense(VOCAB_SIZE, activation='softmax'))(decoded)\n"
            "model = Model(inputs, decoded)\nmodel.compile(optimizer='adam', loss='categorical_crossentropy')\n")
    assert block_findings(code, flat) == []


VOCAB_POST = ("My corpus has a vocabulary of {full} words, so I keep only the most frequent ones:\n\n"
              "tokenizer = Tokenizer(num_words=5000)\ntokenizer.fit_on_texts(texts)\n"
              "x = tokenizer.texts_to_matrix(texts, mode='binary')\n\nThe loss stays high. Why is that?")


@pytest.mark.parametrize("flat", LAYOUTS)
def test_vocabulary_cut_needs_a_large_ratio(flat: bool) -> None:
    def found(full: str) -> list[str]:
        text = VOCAB_POST.format(full=full)
        return [f.snippet for f in check_post(read_post(" ".join(text.split()) if flat else text))
                if f.rule == "vocabulary_truncated"]

    assert found("50,000") == ["num_words=5000"]
    assert found("8,000") == []


def test_offsets_and_lines_point_into_the_post() -> None:
    text = as_post(KERAS_RNN_BN, flat=False)
    (f,) = [f for f in check_post(read_post(text)) if f.rule == "batchnorm_after_recurrent"]
    assert text[f.start : f.end] == f.snippet
    assert f.line == text[: f.start].count("\n") + 1


def test_flattened_loop_after_a_traceback_keeps_its_for_header() -> None:
    text = ('I get this error: Traceback (most recent call last): File "train.py", line 42, in <module> '
            "loss.backward() RuntimeError: Trying to backward through the graph a second time My loop: "
            "hidden = model.init_hidden(bs) for x, y in loader: out, hidden = model(x, hidden) "
            "loss = criterion(out, y) optimizer.zero_grad() loss.backward() optimizer.step()")
    post = read_post(text)
    assert any(b.text.startswith("hidden = model.init_hidden(bs) for x, y in loader:") for b in post.code_blocks)
    found = [f for f in check_post(post) if f.rule == "hidden_state_not_detached"]
    assert [f.snippet for f in found] == ["out, hidden = model(x, hidden)"]
    assert found[0].line is None and found[0].explains == ("exploding_nan",)
