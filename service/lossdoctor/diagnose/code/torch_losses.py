"""PyTorch outputs squashed before a loss that squashes them itself (softmax into CrossEntropyLoss, sigmoid into
BCEWithLogitsLoss)."""

from __future__ import annotations

import re

from lossdoctor.diagnose.code.base import CodeFinding, Source

_CROSS_ENTROPY = re.compile(r"\bCrossEntropyLoss\s*\(|\bcross_entropy\s*\(")
_BCE_LOGITS = re.compile(r"\bBCEWithLogitsLoss\s*\(|\bbinary_cross_entropy_with_logits\s*\(")
_FORWARD = re.compile(r"\bdef\s+forward\s*\(")
_NEXT_DEF = re.compile(r"\bdef\s|\bclass\s")
_RETURN = re.compile(r"\breturn\s+(?:\(\s*)?([A-Za-z_]\w*)")
_CRITERION_CALL = re.compile(r"\b(?:criterion|loss_fn|loss_func|loss_function|lossfn|cross_entropy)\s*\(\s*")


def _op(name: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:F|torch|nn\.functional|functional)\.{name}\s*\(|\.{name}\s*\(")


def _module_attrs(src: Source, module: str) -> list[str]:
    pattern = re.compile(rf"\bself\.(\w+)\s*=\s*(?:torch\.)?(?:nn\.)?{module}\s*\(")
    return list(dict.fromkeys(m.group(1) for m in src.hits(pattern)))[:10]


def _squashes(src: Source, start: int, end: int, op: re.Pattern[str], attrs: list[str]) -> bool:
    """Whether the expression `code[start:end]` is squashed as a whole: it *is* the squashing call
    (`F.softmax(...)`, `self.out(...)`) or its call chain ends with one (`self.fc(x).softmax(1)`)."""
    text = src.code[start:end]
    found = [m for m in (op.search(text), *(re.search(rf"\bself\.{re.escape(a)}\s*\(", text) for a in attrs)) if m]
    return any(m.start() == 0 or src.close(start + m.end() - 1) == end for m in found)


def _expression_end(src: Source, at: int, limit: int) -> int:
    """End of the call chain starting at `at` (`self.fc(x).softmax(dim=1)`), or 80 characters on."""
    pos, call = at, re.compile(r"\s*\.?\s*[\w.]+\s*\(")
    for _ in range(5):
        m = call.match(src.code, pos, limit)
        if m is None or src.close(m.end() - 1) is None:
            break
        pos = src.close(m.end() - 1) or m.end()
    return pos if pos > at else min(limit, at + 80)


def _returned_op(src: Source, op: re.Pattern[str], attrs: list[str]) -> tuple[int, int] | None:
    """Span of the squashing call whose result `forward` returns (directly or via the returned variable)."""
    for f in src.hits(_FORWARD):
        nxt = _NEXT_DEF.search(src.code, f.end())
        body_end = nxt.start() if nxt else len(src.code)
        returns = list(src.hits(_RETURN, f.end(), body_end))
        if not returns:
            continue
        ret = returns[-1]
        end = _expression_end(src, ret.start(1), body_end)
        if _squashes(src, ret.start(1), end, op, attrs):
            return ret.start(), end
        target = re.escape(ret.group(1))
        assignments = list(src.hits(re.compile(rf"\b{target}\s*=(?!=)\s*"), f.end(), ret.start()))
        if assignments:
            last = assignments[-1]
            rhs_end = _expression_end(src, last.end(), ret.start())
            if _squashes(src, last.end(), rhs_end, op, attrs):
                return last.start(), rhs_end
    return None


def _criterion_input(src: Source, op: re.Pattern[str]) -> tuple[int, int] | None:
    """`criterion(F.softmax(out, 1), y)`: the squashing written straight into the loss call."""
    for m in src.hits(_CRITERION_CALL):
        hit = op.match(src.code, m.end())
        if hit:
            return m.start(), src.close(hit.end() - 1) or hit.end()
    return None


def softmax_before_cross_entropy(src: Source) -> list[CodeFinding]:
    """`CrossEntropyLoss` applies log_softmax itself; a model that already returns softmax probabilities gets
    squashed twice, so its gradients are tiny and the loss cannot go below a floor."""
    if not _CROSS_ENTROPY.search(src.code):
        return []
    out = []
    for name, module in (("softmax", "Softmax"), ("log_softmax", "LogSoftmax")):
        op, attrs = _op(name), _module_attrs(src, module)
        span = _returned_op(src, op, attrs) or _criterion_input(src, op)
        if span is None or (name == "softmax" and "log_softmax" in src.code[span[0] : span[1]]):
            continue
        if name == "softmax":
            out.append(src.finding(
                "softmax_before_cross_entropy", "warning", *span,
                why="`nn.CrossEntropyLoss` expects raw logits and applies log_softmax itself; feeding it softmax "
                "probabilities squashes twice, so gradients vanish and the loss stalls well above zero.",
                fix="Return the raw logits from `forward` (drop the softmax) and apply softmax only when you need "
                "probabilities for prediction.", explains=("plateau", "underfitting")))
        else:
            out.append(src.finding(
                "softmax_before_cross_entropy", "info", *span,
                why="`nn.CrossEntropyLoss` already applies log_softmax; applying it in the model too is redundant "
                "(numerically harmless, but it hides which loss the model was meant for).",
                fix="Either drop the log_softmax and keep CrossEntropyLoss, or keep it and use `nn.NLLLoss`.",
                explains=()))
    return out


def sigmoid_before_bce_with_logits(src: Source) -> list[CodeFinding]:
    """`BCEWithLogitsLoss` applies the sigmoid itself; a sigmoid in the model squashes twice."""
    if not _BCE_LOGITS.search(src.code):
        return []
    op, attrs = _op("sigmoid"), _module_attrs(src, "Sigmoid")
    span = _returned_op(src, op, attrs) or _criterion_input(src, op)
    if span is None:
        return []
    return [src.finding(
        "sigmoid_before_bce_with_logits", "warning", *span,
        why="`BCEWithLogitsLoss` applies the sigmoid itself; the model already outputs sigmoid probabilities, so "
        "they are squashed twice into [0.5, 0.73] and gradients nearly vanish.",
        fix="Return raw logits from the model and keep `BCEWithLogitsLoss` (apply `torch.sigmoid` only at "
        "prediction time), or keep the sigmoid and switch to `nn.BCELoss`.", explains=("plateau", "underfitting"))]
