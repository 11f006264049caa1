"""Training/validation loop mistakes: no eval mode or no_grad in validation, gradients never zeroed."""

from __future__ import annotations

import re

from lossdoctor.diagnose.code.base import CodeFinding, Source

_VAL_LOOP = re.compile(r"\bfor\b[^:\n]{0,120}?\bin\s+(?:enumerate\s*\(\s*)?(?:tqdm\s*\(\s*)?(?:self\.)?"
                       r"(?:val|valid|validation|test|eval|dev)\w*\s*\)*\s*:|\bdef\s+(?:validate|evaluate|"
                       r"eval_epoch|valid_epoch|val_epoch|validation_epoch|test_epoch|run_validation)\w*\s*\(")
_EVAL_MODE = re.compile(r"\.eval\s*\(\s*\)|\.train\s*\(\s*(?:False|mode\s*=\s*False)\s*\)")
_NO_GRAD = re.compile(r"\bno_grad\b|\binference_mode\b|set_grad_enabled\s*\(\s*False")
_TORCH = re.compile(r"\btorch\b|\bnn\.|\.backward\s*\(|DataLoader|\.cuda\s*\(|\.to\s*\(\s*device")
_KERAS = re.compile(r"\bkeras\b|\.compile\s*\(|\.fit(?:_generator)?\s*\(")
_BACKWARD = re.compile(r"\.backward\s*\(")
_OPT_STEP = re.compile(r"\b\w*opt\w*\.step\s*\(\s*\)")
_ZEROED = re.compile(r"zero_grad|\.grad\s*=\s*None|\.grad\.zero_|\.grad\.data\.zero_|accum", re.I)


def missing_eval_mode(src: Source) -> list[CodeFinding]:
    """A PyTorch validation loop with no `model.eval()` (dropout and BatchNorm stay in training mode) or no
    `torch.no_grad()` (a graph is built for every validation batch)."""
    loop = _VAL_LOOP.search(src.code)
    if loop is None or not _TORCH.search(src.code) or _KERAS.search(src.code):
        return []
    out = []
    if not _EVAL_MODE.search(src.code):
        out.append(src.finding(
            "missing_eval_mode", "warning", loop.start(), loop.end(),
            why="Validation runs in training mode: dropout keeps dropping units and BatchNorm normalises with each "
            "validation batch's statistics (and updates its running averages with validation data), so the "
            "validation loss is noisy and not what the model scores at inference.",
            fix="Call `model.eval()` before the validation loop and `model.train()` after it.",
            explains=("oscillation", "val_spike")))
    if not _NO_GRAD.search(src.code):
        out.append(src.finding(
            "missing_eval_mode", "info", loop.start(), loop.end(),
            why="Validation runs without `torch.no_grad()`: an autograd graph is built for every batch, wasting "
            "memory and time (and a stray `backward()` there would train on validation data).",
            fix="Wrap the validation loop in `with torch.no_grad():` (or `torch.inference_mode()`).",
            explains=()))
    return out


def missing_zero_grad(src: Source) -> list[CodeFinding]:
    """`loss.backward()` and `optimizer.step()` with no `zero_grad()`: gradients accumulate over all batches."""
    if not _BACKWARD.search(src.code) or _ZEROED.search(src.code):
        return []
    step = _OPT_STEP.search(src.code)
    if step is None:
        return []
    return [src.finding(
        "missing_zero_grad", "error", step.start(), step.end(),
        why="Gradients are never reset: PyTorch adds each `backward()` to the previous gradients, so every step "
        "uses the sum over all batches so far and the effective step size keeps growing.",
        fix="Call `optimizer.zero_grad()` (or `model.zero_grad(set_to_none=True)`) before `loss.backward()` in "
        "every iteration.", explains=("divergence", "exploding_nan", "oscillation"))]
