"""Recurrent-layer mistakes: BatchNorm on RNN outputs, dropout that cannot apply, hidden state carried whole."""

from __future__ import annotations

import re

from lossdoctor.diagnose.code.base import CodeFinding, Source, keyword, statement_start, top_level_args

_BN_ATTR = re.compile(r"\bself\.(\w+)\s*=\s*(?:torch\.)?(?:nn\.)?BatchNorm[123]d\s*\(")
_RNN_ATTR = re.compile(r"\bself\.(\w+)\s*=\s*(?:torch\.)?(?:nn\.)?(?:LSTM|GRU|RNN)\s*\(")
_KERAS_RNN = re.compile(r"\b(?<!nn\.)(?:LSTM|GRU|SimpleRNN|CuDNNLSTM|CuDNNGRU|ConvLSTM[12]D)\s*\(")
_NEXT_LAYER = re.compile(r"\b[A-Z]\w*+\s*\(")
_TORCH_RNN = re.compile(r"\bnn\.(?:LSTM|GRU|RNN)\s*\(")
_DEF = re.compile(r"\bdef\s")
_CARRY = re.compile(r"\b(\w+)\s*,\s*(\w+)\s*=\s*(?!self\.)([A-Za-z_][\w.]*)\s*\(")
_FOR = re.compile(r"\bfor\b")
_BACKWARD = re.compile(r"\.backward\s*\(")

BN_WHY = ("BatchNorm normalises with batch statistics in training and with running averages in eval mode; over "
          "an LSTM/GRU's outputs those averages are a poor fit for the evaluation batches, so eval-mode outputs "
          "can be far off and the validation loss jumps while the training loss stays smooth.")
BN_FIX = ("Replace the BatchNorm after the recurrent layer with LayerNorm (`nn.LayerNorm(hidden_dim)`; Keras "
          "`LayerNormalization()`), or remove it; if you keep it, evaluate with large, shuffled batches.")


def _torch_batchnorm(src: Source) -> list[CodeFinding]:
    rnns = list(dict.fromkeys(m.group(1) for m in src.hits(_RNN_ATTR)))[:10]
    out = []
    for bn in list(dict.fromkeys(m.group(1) for m in src.hits(_BN_ATTR)))[:10]:
        for rnn in rnns:
            rnn_call = re.search(rf"\bself\.{re.escape(rnn)}\s*\(", src.code)
            if rnn_call is None:
                continue
            next_def = _DEF.search(src.code, rnn_call.end())
            limit = next_def.start() if next_def else len(src.code)
            bn_call = re.compile(rf"\bself\.{re.escape(bn)}\s*\(").search(src.code, rnn_call.end(), limit)
            if bn_call is not None:
                out.append(src.finding("batchnorm_after_recurrent", "warning",
                                       statement_start(src.code, bn_call.start()), src.call_end(bn_call),
                                       BN_WHY, BN_FIX, ("val_spike",)))
                break
    return out


def _keras_batchnorm(src: Source) -> list[CodeFinding]:
    out = []
    for m in src.hits(_KERAS_RNN):
        end = src.call_end(m)
        after = _NEXT_LAYER.search(src.code, end, min(len(src.code), end + 300))
        if after is not None and src.code.startswith("BatchNormalization", after.start()):
            out.append(src.finding("batchnorm_after_recurrent", "warning", after.start(), src.call_end(after),
                                   BN_WHY, BN_FIX, ("val_spike",)))
    return out


def batchnorm_after_recurrent(src: Source) -> list[CodeFinding]:
    """A BatchNorm applied to an RNN's output: the classic cause of eval-only loss spikes (example 000)."""
    return _torch_batchnorm(src) + _keras_batchnorm(src)


def lstm_dropout_single_layer(src: Source) -> list[CodeFinding]:
    """`nn.LSTM(..., dropout=p)` with one layer: PyTorch applies that dropout only *between* layers, so it
    does nothing. A `num_layers` given as a variable is not judged (example 000 passes `n_layers`)."""
    out = []
    for m in src.hits(_TORCH_RNN):
        end = src.close(m.end() - 1)
        if end is None or end - m.end() > 3000:
            continue
        args = top_level_args(src.code[m.end() : end - 1])
        dropout = keyword(args, "dropout")
        if dropout is None or re.fullmatch(r"0*\.?0*", dropout):
            continue
        layers = keyword(args, "num_layers")
        positional = [a for a in args if not re.match(r"\w+\s*=(?!=)", a)]
        if layers is None and len(positional) >= 3:
            layers = positional[2]
        if layers is None or layers.strip() == "1":
            out.append(src.finding(
                "lstm_dropout_single_layer", "warning", m.start(), end,
                why=f"`dropout={dropout}` on a single-layer recurrent module is applied only between stacked layers, "
                "so no dropout happens at all (PyTorch warns about it).",
                fix="Use `num_layers>=2`, or drop the argument and put `nn.Dropout(p)` on the recurrent output.",
                explains=("overfitting",)))
    return out


def hidden_state_not_detached(src: Source) -> list[CodeFinding]:
    """`out, h = model(x, h)` in a training loop with `h` never detached nor re-initialised in the loop: every
    backward pass runs through all earlier batches (or fails with "backward through the graph a second time")."""
    if not _BACKWARD.search(src.code):
        return []
    out = []
    for m in src.hits(_CARRY):
        hidden, end = m.group(2), src.call_end(m)
        if not re.search(rf"\b{re.escape(hidden)}\b", src.code[m.end() : end]):
            continue
        loops = [f.start() for f in src.hits(_FOR, max(0, m.start() - 3000), m.start()) if not src.nested(f.start())]
        if not loops:
            continue
        backward = _BACKWARD.search(src.code, end)
        window = src.code[loops[-1] : backward.end() if backward else min(len(src.code), end + 800)]
        h = re.escape(hidden)
        if re.search(rf"\b{h}\s*=.{{0,80}}?(?:init_hidden|zeros|detach|repackage)|\b{h}\.detach|repackage_hidden"
                     rf"|\.data\b|\b{h}\s*=\s*tuple\(", window):
            continue
        out.append(src.finding(
            "hidden_state_not_detached", "error", m.start(), end,
            why=f"`{hidden}` is fed back into the model batch after batch without `.detach()`, so each backward "
            "pass goes through the whole history: time and memory grow, gradients through the long chain explode "
            "(or PyTorch raises 'Trying to backward through the graph a second time').",
            fix=f"Detach at the start of each batch: `{hidden} = tuple(t.detach() for t in {hidden})` for an LSTM "
            f"(`{hidden} = {hidden}.detach()` for a GRU/RNN), or re-initialise it per batch.",
            explains=("exploding_nan",)))
    return out
