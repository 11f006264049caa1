"""`train(config)`: one real, seeded CPU training run, logged the way a practitioner's logger would."""

from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from lossdoctor.jobs.scenarios import data, models
from lossdoctor.jobs.scenarios.config import METRICS, Curve, ScenarioConfig, TrainingRecord


def lr_multiplier(c: ScenarioConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """LR factor at global `step` (1-based) in `epoch` (1-based); the schedule faults live here."""
    total = c.epochs * steps_per_epoch
    warm = c.warmup_epochs * steps_per_epoch
    if c.lr_schedule in ("warmup", "warmup_cosine") and step <= warm:
        return step / warm
    if c.lr_schedule == "warmup_cosine":
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
    if c.lr_schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * (step - 1) / total))
    if c.lr_schedule == "step_up" and c.schedule_epochs and epoch >= c.schedule_epochs[0]:
        return c.schedule_factor
    if c.lr_schedule == "cyclic":  # triangular CyclicLR between lr / factor and lr
        phase = ((step - 1) / (c.cycle_epochs * steps_per_epoch)) % 1.0
        return 1 / c.schedule_factor + (1 - 1 / c.schedule_factor) * (1 - abs(2 * phase - 1))
    if c.lr_schedule == "burst" and epoch in c.schedule_epochs:
        return c.schedule_factor
    return 1.0


def make_optimizer(c: ScenarioConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    lr, wd = c.learning_rate, c.weight_decay
    if c.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=c.momentum, weight_decay=wd)
    if c.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if c.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if c.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, c: ScenarioConfig) -> tuple[float, float]:
    """Mean loss and accuracy on held-out data; `eval_in_train_mode` is the forgotten `model.eval()`."""
    model.train(c.eval_in_train_mode)
    size = c.eval_batch_size or len(y)
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(y), size):
            logits = model(x[start : start + size])
            target = y[start : start + size]
            loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(dim=1) == target).sum())
    return loss_sum / len(y), correct / len(y)


def _grad_norm(params: list[nn.Parameter]) -> float:
    grads = [p.grad.detach().norm() for p in params if p.grad is not None]
    return float(torch.stack(grads).norm()) if grads else 0.0


class _Window:
    """Accumulates the steps between two log points (an epoch, or `log_every_steps` steps)."""

    def __init__(self) -> None:
        self.sums = [0.0, 0.0, 0.0]  # loss, lr, grad norm
        self.correct, self.seen, self.steps = 0, 0, 0

    def add(self, loss: float, lr: float, gn: float, correct: int, seen: int) -> None:
        self.sums = [a + b for a, b in zip(self.sums, (loss, lr, gn), strict=True)]
        self.correct, self.seen, self.steps = self.correct + correct, self.seen + seen, self.steps + 1

    def flush(self, curves: dict[str, Curve], x: int) -> None:
        """Log the window's means at x (NaN and inf propagate, as in any logger) and start afresh."""
        if self.steps:
            for name, total in zip(("train_loss", "lr", "grad_norm"), self.sums, strict=True):
                curves[name].add(x, total / self.steps)
            curves["train_accuracy"].add(x, self.correct / self.seen)
        self.sums, self.correct, self.seen, self.steps = [0.0, 0.0, 0.0], 0, 0, 0


def _corrupt(c: ScenarioConfig, x: torch.Tensor, y: torch.Tensor, classes: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """A bad batch as it happens in the wild: unnormalised inputs, or a shard with scrambled labels."""
    if c.bad_batch_kind == "scale":
        return x * c.bad_batch_scale, y
    return x, (y + 1 + torch.randint(0, classes - 1, y.shape).to(y.device)) % classes


def train(config: ScenarioConfig, device: str = "cpu") -> TrainingRecord:
    """Train `config` to the end (or shortly after the loss turns non-finite) and return its curves.

    `device` ("cpu", "cuda", "cuda:N"): where the model and data live. Every random draw (init, shuffling,
    noise, corrupted labels) is made on the CPU generators first, so a CPU run is bit-for-bit the corpus run
    and a CUDA run differs only by floating-point order."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    split = data.load(config).to(device)
    sample = split.x_train[:1]
    seq_model = config.model in ("lstm", "transformer")
    features = models._as_sequence(sample).shape[-1] if seq_model else sample[0].numel()
    model = models.build(config, int(features), split.num_classes).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(config, params)
    gen = torch.Generator().manual_seed(config.seed)
    n, bs = len(split.y_train), config.batch_size
    spe = n // bs if config.drop_last else math.ceil(n / bs)
    curves = {name: Curve() for name in METRICS}
    step_losses: list[float] = []
    window, step, nonfinite_epoch = _Window(), 0, None
    for epoch in range(1, config.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for b in range(spe):
            idx = perm[b * bs : (b + 1) * bs].to(device)
            x, y = split.x_train[idx], split.y_train[idx]
            step += 1
            if step in config.bad_batch_steps:
                x, y = _corrupt(config, x, y, split.num_classes)
            if config.input_noise:
                x = x + config.input_noise * torch.randn(x.shape, generator=gen).to(device)
            lr = config.learning_rate * lr_multiplier(config, epoch, step, spe)
            for group in opt.param_groups:
                group["lr"] = lr
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            torch.autograd.backward(loss)
            gn = _grad_norm(params)
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            opt.step()
            value = float(loss.detach())
            step_losses.append(value)
            window.add(value, lr, gn, int((logits.argmax(1) == y).sum()), len(y))
            if config.log_every_steps and step % config.log_every_steps == 0:
                window.flush(curves, step)
        x_val = step if config.log_every_steps else epoch
        if not config.log_every_steps:
            window.flush(curves, epoch)
        val_loss, val_acc = evaluate(model, split.x_val, split.y_val, config)
        curves["val_loss"].add(x_val, val_loss)
        curves["val_accuracy"].add(x_val, val_acc)
        recent = step_losses[-spe:] + [val_loss, gn]
        finite = all(math.isfinite(v) for v in recent)
        if nonfinite_epoch is None and not finite:
            nonfinite_epoch = epoch
        if nonfinite_epoch is not None and epoch - nonfinite_epoch >= config.stop_after_nonfinite_epochs:
            break
    return TrainingRecord(
        config=config, x_axis="step" if config.log_every_steps else "epoch", metrics=curves,
        step_train_loss=step_losses, num_classes=split.num_classes, train_size=n,
        val_size=len(split.y_val), steps_per_epoch=spe, seconds=time.perf_counter() - started,
    )
