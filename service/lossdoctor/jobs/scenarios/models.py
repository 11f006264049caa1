"""The four model families, each with the architectural faults people actually ship."""

from __future__ import annotations

import torch
from torch import nn

from lossdoctor.jobs.scenarios.config import ScenarioConfig


def _as_sequence(x: torch.Tensor) -> torch.Tensor:
    """Tabular/image input read as a sequence: 8x8 digits become 8 steps of 8 pixels."""
    if x.dim() == 3:
        return x
    n, f = x.shape
    side = int(round(f**0.5))
    return x.reshape(n, side, f // side) if side * side == f else x.reshape(n, f, 1)


class Head(nn.Module):
    """Shared classifier head; `tanh_output_into_ce` squashes logits to [-1, 1] (a real, silent bug)."""

    def __init__(self, width: int, classes: int, config: ScenarioConfig) -> None:
        super().__init__()
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(width, classes)
        self.tanh = config.tanh_output_into_ce

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.out(self.drop(h))
        return torch.tanh(logits) if self.tanh else logits


class MLP(nn.Module):
    def __init__(self, features: int, classes: int, c: ScenarioConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = features
        for _ in range(c.depth):
            layers += [nn.Linear(width, c.hidden)]
            layers += [nn.BatchNorm1d(c.hidden, momentum=c.bn_momentum)] if c.batchnorm else []
            layers += [nn.ReLU(), nn.Dropout(c.dropout)]
            width = c.hidden
        self.body = nn.Sequential(*layers)
        self.head = Head(width, classes, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.body(x.flatten(1)))
        return out


class CNN(nn.Module):
    """Two 3x3 convolutions for 8x8 digits; channels scale with `hidden`."""

    def __init__(self, features: int, classes: int, c: ScenarioConfig) -> None:
        super().__init__()
        ch = max(4, c.hidden // 4)

        def norm(n: int) -> nn.Module:
            return nn.BatchNorm2d(n, momentum=c.bn_momentum) if c.batchnorm else nn.Identity()

        self.body = nn.Sequential(
            nn.Conv2d(1, ch, 3, padding=1), norm(ch), nn.ReLU(),
            nn.Conv2d(ch, 2 * ch, 3, padding=1), norm(2 * ch), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * ch * 16, c.hidden), nn.ReLU(),
        )
        self.head = Head(c.hidden, classes, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.body(x.reshape(x.shape[0], 1, 8, 8)))
        return out


class LSTMNet(nn.Module):
    """LSTM, last time step, optional BatchNorm1d on it (the `batchnorm_after_lstm` fault)."""

    def __init__(self, features: int, classes: int, c: ScenarioConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, c.hidden, num_layers=c.depth, batch_first=True)
        bn = c.batchnorm_after_lstm or c.batchnorm
        self.norm: nn.Module = nn.BatchNorm1d(c.hidden, momentum=c.bn_momentum) if bn else nn.Identity()
        self.head = Head(c.hidden, classes, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.lstm(_as_sequence(x))
        out: torch.Tensor = self.head(self.norm(seq[:, -1]))
        return out


class TinyTransformer(nn.Module):
    """One post-LN encoder layer (the variant that needs warm-up), mean-pooled."""

    def __init__(self, features: int, classes: int, c: ScenarioConfig, max_len: int = 64) -> None:
        super().__init__()
        d = max(16, c.hidden // 2 * 2)
        self.embed = nn.Linear(features, d)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d))
        layer = nn.TransformerEncoderLayer(d, 2, 2 * d, dropout=c.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.depth, enable_nested_tensor=False)
        self.head = Head(d, classes, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = _as_sequence(x)
        h = self.embed(seq) + self.pos[:, : seq.shape[1]]
        out: torch.Tensor = self.head(self.encoder(h).mean(dim=1))
        return out


def _apply_init_faults(model: nn.Module, c: ScenarioConfig) -> None:
    """`init_scale` blows up (or shrinks) every weight; `bias_init` very negative makes ReLUs dead."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if c.init_scale != 1.0 and p.dim() > 1:
                p.mul_(c.init_scale)
            if c.bias_init is not None and name.endswith("bias") and "head" not in name and p.dim() == 1:
                p.fill_(c.bias_init)


def build(config: ScenarioConfig, features: int, classes: int) -> nn.Module:
    """`features`: inputs per sample for MLP/CNN, per time step for LSTM/transformer."""
    kinds: dict[str, type[MLP | CNN | LSTMNet | TinyTransformer]] = {
        "mlp": MLP, "cnn": CNN, "lstm": LSTMNet, "transformer": TinyTransformer}
    model: nn.Module = kinds[config.model](features, classes, config)
    _apply_init_faults(model, config)
    return model
