"""Each rule on a snippet that has the bug and one that does not, with line breaks and flattened to one line,
found both in a post (`read_post` + `check_post`) and as a block given directly (`check_code`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lossdoctor.diagnose.code import CodeFinding

from .helpers import LAYOUTS, block_findings, post_findings, rules

Runner = Callable[[str, bool], list[CodeFinding]]
RUNNERS = [pytest.param(post_findings, id="post"), pytest.param(block_findings, id="block")]

TORCH_MODEL = """
class Net(nn.Module):
    def __init__(self, weights=None):
        super().__init__()
        self.embedding = nn.Embedding(1000, 64)
        {embedding}
        self.lstm = nn.LSTM({lstm_args})
        self.norm = {norm}
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        x = self.embedding(x)
        {before}
        out, _ = self.lstm(x)
        out = out[:, -1, :]
        {after}
        logits = self.fc(out)
        {output}
"""


def torch_model(embedding: str = "pass", lstm_args: str = "64, 64, batch_first=True",
                norm: str = "nn.LayerNorm(64)", before: str = "", after: str = "out = self.norm(out)",
                output: str = "return logits") -> str:
    return TORCH_MODEL.format(embedding=embedding, lstm_args=lstm_args, norm=norm, before=before, after=after,
                              output=output)


TRAIN_LOOP = """
model = Net()
criterion = {criterion}
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    model.train()
    {init_hidden}
    for x, y in train_loader:
        {zero}
        {forward}
        loss = criterion(out, y)
        loss.backward()
        optimizer.step()
    {eval}
    {no_grad}
    for x, y in val_loader:
        out = model(x)
        val_loss = criterion(out, y).item()
"""


def train_loop(criterion: str = "nn.CrossEntropyLoss()", init_hidden: str = "",
               zero: str = "optimizer.zero_grad()", forward: str = "out = model(x)", eval: str = "model.eval()",
               no_grad: str = "torch.set_grad_enabled(False)") -> str:
    return TRAIN_LOOP.format(criterion=criterion, init_hidden=init_hidden, zero=zero, forward=forward, eval=eval,
                             no_grad=no_grad)


CLEAN_TORCH = torch_model() + train_loop()

# rule -> (snippet with the bug, snippet without it)
CASES: dict[str, tuple[str, str]] = {
    "embedding_from_pretrained_discarded": (
        torch_model(embedding="if weights is not None:\n            "
                              "nn.Embedding.from_pretrained(torch.tensor(weights))"),
        torch_model(embedding="if weights is not None:\n            "
                              "self.embedding = nn.Embedding.from_pretrained(torch.tensor(weights), freeze=False)"),
    ),
    "batchnorm_after_recurrent": (
        torch_model(norm="nn.BatchNorm1d(64)"),
        torch_model(norm="nn.BatchNorm1d(64)", before="x = self.norm(x)", after=""),
    ),
    "lstm_dropout_single_layer": (
        torch_model(lstm_args="64, 64, dropout=0.3, batch_first=True"),
        torch_model(lstm_args="64, 64, num_layers=2, dropout=0.3, batch_first=True"),
    ),
    "softmax_before_cross_entropy": (
        torch_model(output="return F.softmax(logits, dim=1)") + train_loop(),
        torch_model(output="probs = F.softmax(logits, dim=1)\n        return logits") + train_loop(),
    ),
    "sigmoid_before_bce_with_logits": (
        torch_model(output="return torch.sigmoid(logits)") + train_loop(criterion="nn.BCEWithLogitsLoss()"),
        torch_model(output="return torch.sigmoid(logits)") + train_loop(criterion="nn.BCELoss()"),
    ),
    "missing_eval_mode": (
        torch_model() + train_loop(eval="", no_grad=""),
        CLEAN_TORCH,
    ),
    "missing_zero_grad": (
        torch_model() + train_loop(zero=""),
        CLEAN_TORCH,
    ),
    "hidden_state_not_detached": (
        torch_model() + train_loop(init_hidden="hidden = model.init_hidden(64)",
                                   forward="out, hidden = model(x, hidden)"),
        torch_model() + train_loop(init_hidden="hidden = model.init_hidden(64)",
                                   forward="hidden = tuple(h.detach() for h in hidden)\n        "
                                           "out, hidden = model(x, hidden)"),
    ),
    "no_softmax_before_categorical_crossentropy": (
        """
model = Sequential()
model.add(Embedding(5000, 64))
model.add(LSTM(128))
model.add(Dense(10))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=10, validation_split=0.1)
""",
        """
model = Sequential()
model.add(Embedding(5000, 64))
model.add(LSTM(128))
model.add(Dense(10, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(x_train, y_train, epochs=10, validation_split=0.1)
""",
    ),
    "keras_from_logits_mismatch": (
        """
model = keras.Sequential([
    layers.Flatten(input_shape=(28, 28)),
    layers.Dense(128, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x_train, y_train, epochs=5)
""",
        """
model = keras.Sequential([
    layers.Flatten(input_shape=(28, 28)),
    layers.Dense(128, activation='relu'),
    layers.Dense(10),
])
model.compile(optimizer='adam', loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x_train, y_train, epochs=5)
""",
    ),
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("flat", LAYOUTS)
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_the_bug(rule: str, flat: bool, runner: Runner) -> None:
    bad, _ = CASES[rule]
    found = [f for f in runner(bad, flat) if f.rule == rule]
    assert found, f"{rule} missed"
    for f in found:
        assert f.snippet.strip() and f.why and f.fix
        assert (f.line is None) == flat


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("flat", LAYOUTS)
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_is_silent_without_the_bug(rule: str, flat: bool, runner: Runner) -> None:
    _, good = CASES[rule]
    assert rule not in rules(runner(good, flat))


@pytest.mark.parametrize("flat", LAYOUTS)
def test_clean_pytorch_program_has_no_findings(flat: bool) -> None:
    assert post_findings(CLEAN_TORCH, flat) == []
