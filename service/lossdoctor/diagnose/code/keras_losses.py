"""Keras output layers that do not match the loss: probabilities expected, logits given, or the reverse."""

from __future__ import annotations

import re
from typing import Literal

from lossdoctor.diagnose.code.base import CodeFinding, Source, keyword, top_level_args

Output = Literal["softmax", "sigmoid", "linear"]

_LOSS = re.compile(r"\bloss\s*=\s*(?:(['\"])(sparse_categorical_crossentropy|categorical_crossentropy|"
                   r"binary_crossentropy)\1|(?:[\w.]*\.)?(SparseCategoricalCrossentropy|CategoricalCrossentropy|"
                   r"BinaryCrossentropy)\s*\()")
_LAYER = re.compile(r"\b(Dense|LSTM|GRU|SimpleRNN|CuDNNLSTM|CuDNNGRU|Conv[123]D|Conv[123]DTranspose|Activation|"
                    r"Softmax|Embedding|Lambda|Dropout|SpatialDropout[123]D|Flatten|Reshape|BatchNormalization|"
                    r"LayerNormalization|TimeDistributed|Bidirectional|RepeatVector|Global\w*Pooling[123]D)\s*\(")
_PASS_THROUGH = ("Dropout", "SpatialDropout", "Flatten", "Reshape", "TimeDistributed", "Bidirectional",
                 "BatchNormalization", "LayerNormalization")
_CLASS_NAMES = {"SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
                "CategoricalCrossentropy": "categorical_crossentropy", "BinaryCrossentropy": "binary_crossentropy"}
_ACTIVATION = re.compile(r"^(?:['\"](\w+)['\"]|(?:[\w.]*\.)?(\w+))")


def _output(src: Source, before: int) -> tuple[Output, re.Match[str], int] | None:
    """What the last layer constructed before the loss emits, with its match and end.

    Wrappers (TimeDistributed, Bidirectional) and pass-through layers (Dropout, Flatten) are skipped so
    `TimeDistributed(Dense(V, activation='softmax'))` and `Dense(V), Dropout(.2)` read as the Dense."""
    layers = list(src.hits(_LAYER, max(0, before - 20_000), before))
    for m in reversed(layers):
        if m.group(1).startswith(_PASS_THROUGH):
            continue
        end = src.close(m.end() - 1) or m.end()
        args_text = src.code[m.end() : end - 1][:2000]
        if m.group(1) in ("Softmax",):
            return "softmax", m, end
        if m.group(1) in ("Activation", "Lambda"):
            kind: Output = "softmax" if "softmax" in args_text else "sigmoid" if "sigmoid" in args_text else "linear"
            return kind, m, end
        value = keyword(top_level_args(args_text), "activation")
        name = ""
        if value is not None:
            a = _ACTIVATION.match(value)
            name = (a.group(1) or a.group(2) or "") if a else ""
        return ("softmax" if name == "softmax" else "sigmoid" if name == "sigmoid" else "linear"), m, end
    return None


def _losses(src: Source) -> list[tuple[re.Match[str], str, bool | None]]:
    """(match, loss name, from_logits as written or None when not given)."""
    out = []
    for m in src.hits(_LOSS):
        name = m.group(2) or m.group(3)
        logits: bool | None = None
        if m.group(3):
            end = src.close(m.end() - 1) or m.end()
            given = keyword(top_level_args(src.code[m.end() : end - 1][:2000]), "from_logits")
            logits = None if given is None else given in ("True", "1")
        out.append((m, _CLASS_NAMES.get(name, name), logits))
    return out


def no_softmax_before_categorical_crossentropy(src: Source) -> list[CodeFinding]:
    """`categorical_crossentropy` (from_logits left at False) reads the output as probabilities; an LSTM's
    tanh or a linear Dense output is not one, so the loss takes logs of negative or zero values (example 004)."""
    out = []
    for m, name, logits in _losses(src):
        if "categorical" not in name or logits is not None:
            continue
        found = _output(src, m.start())
        if found is None or found[0] == "softmax":
            continue
        kind, layer, end = found
        out.append(src.finding(
            "no_softmax_before_categorical_crossentropy", "error" if kind == "linear" else "warning",
            layer.start(), end,
            why=f"The model's last layer (`{layer.group(1)}`) has a {kind if kind == 'sigmoid' else 'tanh/linear'} "
            f"output, but `{name}` expects probabilities that sum to 1: Keras normalises and clips what it gets, "
            "so negative or near-zero outputs give huge or NaN losses and gradients.",
            fix="End the model with a softmax: `TimeDistributed(Dense(VOCAB_SIZE, activation='softmax'))` after "
            "the recurrent layer (or `Dense(n, activation='softmax')`); alternatively keep the linear output and "
            "use `CategoricalCrossentropy(from_logits=True)`.",
            explains=("exploding_nan",)))
    return out


def keras_from_logits_mismatch(src: Source) -> list[CodeFinding]:
    """`from_logits` written explicitly and contradicting the output layer."""
    out = []
    for m, name, logits in _losses(src):
        found = _output(src, m.start())
        if logits is None or found is None:
            continue
        kind, layer, end = found
        squashed = kind == "softmax" or (kind == "sigmoid" and "binary" in name)
        if logits and squashed:
            out.append(src.finding(
                "keras_from_logits_mismatch", "warning", m.start(), src.close(m.end() - 1) or m.end(),
                why=f"`from_logits=True` tells the loss to apply {kind} itself, but the last layer already applies "
                f"{kind}: the output is squashed twice, gradients shrink and training stalls.",
                fix="Either remove the activation from the last layer or set `from_logits=False`.",
                explains=("plateau", "underfitting")))
        elif logits is False and kind == "linear":
            out.append(src.finding(
                "keras_from_logits_mismatch", "error", m.start(), src.close(m.end() - 1) or m.end(),
                why=f"`from_logits=False` says the outputs are probabilities, but the last layer (`{layer.group(1)}`) "
                "is linear: the loss clips and normalises raw scores, giving wrong gradients and NaN-prone logs.",
                fix="Set `from_logits=True`, or add the softmax/sigmoid activation to the last layer.",
                explains=("exploding_nan",)))
    return out
