"""Findings from what a person *says* their curves did, for posts whose plot was an image.

A described symptom is weaker evidence than a measured one: people misread plots and use "overfitting"
loosely. So these findings carry `basis="description"`, a confidence of at most 0.6, no onset, and say
which numbers would confirm them. The explanations and fixes are those of the metric classifiers, without
the parts that need numbers (an epoch to restore, a rise factor to cut the learning rate by).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lossdoctor.diagnose import val_spike
from lossdoctor.diagnose.base import Finding, Fix, Severity
from lossdoctor.diagnose.catalog import FINDING_CODES
from lossdoctor.ingest.symptoms import Symptom

MAX_CONFIDENCE = 0.6
BASE_CONFIDENCE = 0.45  # one phrase; each further distinct phrase for the same symptom adds a little
WITH_NUMBERS = 0.75  # when the post also has numbers, the metric classifiers speak first


@dataclass(frozen=True)
class _Described:
    severity: Severity
    metrics: tuple[str, ...]
    summary: str
    explanation: str
    confirm_with: str
    fixes: tuple[Fix, ...]


_CLIP = Fix("clip_gradients", "Clip the gradient norm (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); "
            "Keras: optimizer(clipnorm=1.0)).")

_TABLE: dict[str, _Described] = {
    "overfitting": _Described(
        "warning", ("val_loss", "train_loss"),
        "Validation loss rises while training loss keeps falling: the model is overfitting.",
        "The model keeps fitting the training set but stops generalising: past its best epoch it memorises "
        "training examples, so held-out loss climbs while training loss falls.",
        "per-epoch train_loss and val_loss (the epoch where val_loss is lowest is where to stop)",
        (Fix("restore_best_checkpoint", "Keep the weights from the epoch with the lowest validation loss and stop "
             "there (Keras: EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True); PyTorch: "
             "save a checkpoint whenever val_loss improves)."),
         Fix("add_weight_decay", "Add weight decay / L2 (e.g. torch.optim.AdamW(params, weight_decay=1e-2))."),
         Fix("add_dropout", "Add dropout (0.2-0.5) before the dense layers."),
         Fix("augment_or_more_data", "Augment the training data or collect more of it."))),
    "overconfidence": _Described(
        "warning", ("val_loss", "val_accuracy"),
        "Validation loss rises while validation accuracy stays flat: the model grows more confident on the "
        "examples it gets wrong.",
        "The model still ranks the right class first as often as before, but it grows more confident on the "
        "examples it gets wrong: cross-entropy punishes confident mistakes without bound, so loss climbs while "
        "accuracy holds.",
        "val_loss and val_accuracy per epoch (loss rising while accuracy stays within its noise)",
        (Fix("early_stop_on_target_metric", "Select the checkpoint by validation accuracy, not by loss (Keras: "
             "EarlyStopping(monitor='val_accuracy', mode='max', restore_best_weights=True))."),
         Fix("label_smoothing", "Train with label smoothing (nn.CrossEntropyLoss(label_smoothing=0.1); Keras: "
             "CategoricalCrossentropy(label_smoothing=0.1))."),
         Fix("temperature_scaling", "If you need calibrated probabilities, fit a temperature on the validation "
             "set after training."),
         Fix("regularise", "Weight decay and dropout slow the growth of the logits."))),
    "divergence": _Described(
        "error", ("train_loss", "train_accuracy"),
        "Training loss fell, then rose again (and accuracy dropped): the optimiser is diverging.",
        "When training loss itself climbs back, the optimiser's steps are too large for the region it has "
        "reached: it overshoots the minimum and is thrown out of it. Adam's tiny second-moment estimates near a "
        "minimum and invalid soft labels (rows that do not sum to 1) make this worse.",
        "per-epoch (or per-step) train_loss and train_accuracy, and the learning rate if it is scheduled",
        (Fix("lower_learning_rate", "Cut the learning rate 3-10x (or resume from before the turn with the lower "
             "rate)."),
         Fix("add_warmup_and_decay", "Use a schedule: warm up over the first few hundred steps, then decay "
             "(cosine or step, e.g. ReduceLROnPlateau)."),
         _CLIP,
         Fix("raise_adam_epsilon", "With Adam, raise epsilon (1e-7 -> 1e-4) to damp steps where second moments "
             "are tiny."),
         Fix("check_soft_labels", "If labels are soft, check each row is a valid distribution (non-negative, sums "
             "to 1)."))),
    "exploding_nan": _Described(
        "error", ("train_loss",),
        "Weights, gradients or the loss become NaN/inf: training is exploding.",
        "Weights or activations overflowed: gradients grew until an update produced inf, and every later value "
        "is NaN. Typical causes: a learning rate too high for the model, no gradient clipping in an RNN, "
        "log/softmax of zero or of outputs that are not probabilities, fp16 overflow without loss scaling.",
        "the per-step loss and gradient norm up to the first NaN (the step where it first appears)",
        (_CLIP,
         Fix("lower_learning_rate", "Lower the learning rate 3-10x, or add a warm-up."),
         Fix("stabilise_log_softmax", "Compute losses from logits (CrossEntropyLoss, from_logits=True) or end the "
             "model with a softmax when the loss expects probabilities; add eps inside logs and divisions."),
         Fix("use_loss_scaling", "In mixed precision use a dynamic loss scaler (torch.amp.GradScaler) or bf16."),
         Fix("find_first_nan", "Run a few steps with torch.autograd.set_detect_anomaly(True) (Keras: "
             "tf.debugging.enable_check_numerics()) to find the op that produces the first NaN."))),
    "val_spike": _Described(
        "warning", ("val_loss", "train_loss"),
        "Validation loss jumps far above training loss while training loss stays smooth.",
        val_spike.EXPLANATION,
        "per-epoch val_loss next to train_loss (a jump of 10x or more that train_loss does not share)",
        val_spike.FIXES),
    "loss_spike": _Described(
        "warning", ("train_loss",),
        "Training loss spikes and then recovers.",
        "A few updates threw the model off and it found its way back: typical of large learning rates meeting a "
        "rare bad batch (outliers, corrupt labels), or of Adam's second-moment estimate lagging a sudden "
        "gradient change.",
        "per-step train_loss around the spikes (their height and how fast it recovers)",
        (Fix("clip_gradients", "Clip the gradient norm (clip_grad_norm_(params, 1.0))."),
         Fix("lower_peak_lr", "Lower the peak learning rate or lengthen the warm-up."),
         Fix("skip_bad_batches", "Log the batch indices at the spikes and inspect or skip those batches."),
         Fix("check_data", "Look for outliers or mislabelled examples in the batches that spiked."))),
    "plateau": _Described(
        "warning", ("train_loss",),
        "The loss does not move: training is stuck on a plateau.",
        "The weights are not moving usefully: the learning rate is far too low (or zero), gradients do not flow "
        "(dead ReLUs, vanishing gradients, a detached graph), or the labels carry no signal, so the model can "
        "only learn the class frequencies (a loss near ln(num_classes), 0.693 for two classes).",
        "per-step train_loss and the number of classes (a flat loss near ln(num_classes) means chance level)",
        (Fix("check_learning_rate", "Check the learning rate actually applied (log it); raise it 10x."),
         Fix("check_gradient_flow", "Log per-layer gradient norms; zero or tiny ones mean dead ReLUs, vanishing "
             "gradients or a tensor detached from the graph (.detach(), .item(), numpy)."),
         Fix("check_labels", "Check labels match inputs after shuffling and that the loss gets the right targets "
             "(overfit a single batch first: the loss must go to ~0)."),
         Fix("check_initialisation", "Use the framework's default initialisation; avoid large negative biases."))),
    "oscillation": _Described(
        "warning", ("train_loss", "val_loss"),
        "The loss swings up and down without settling.",
        "The optimiser bounces across a valley instead of descending it: the step size is too large for the "
        "curvature, or the gradient estimate is too noisy (small batches), or momentum overshoots. When only "
        "the validation curve swings, the evaluation itself is noisy (a small or shifting validation set).",
        "per-epoch train_loss and val_loss (and the validation set size: small sets swing by chance)",
        (Fix("lower_learning_rate", "Lower the learning rate 3x, or decay it (ReduceLROnPlateau)."),
         Fix("larger_batch", "Use a larger batch (or gradient accumulation) to reduce gradient noise."),
         Fix("tune_momentum", "Lower momentum (0.99 -> 0.9) or Adam beta1."),
         Fix("check_validation_set", "If only validation swings: use a larger, fixed validation set."))),
    "underfitting": _Described(
        "warning", ("train_loss", "train_accuracy"),
        "The model does not fit even its training data.",
        "Training loss staying high with no gap to validation means the model cannot represent the task as set "
        "up: too little capacity, too much regularisation, too few steps or too low a learning rate, or "
        "inputs/labels that carry little signal.",
        "final train_loss and train_accuracy next to val_loss (high and close together)",
        (Fix("train_longer_or_faster", "Train longer, or raise the learning rate 3x (find it with an LR range "
             "test)."),
         Fix("add_capacity", "Use a wider/deeper model or a pretrained backbone."),
         Fix("reduce_regularisation", "Lower dropout and weight decay; remove heavy augmentation."),
         Fix("check_inputs", "Check input normalisation and that labels match inputs; overfit one batch first."))),
    "val_below_train": _Described(
        "info", ("val_loss", "train_loss"),
        "Validation loss is below training loss.",
        "Usually benign: dropout and augmentation are active only in training, and a training loss averaged "
        "over an epoch lags the end-of-epoch weights that validation sees by half an epoch. A large gap with "
        "near-perfect validation accuracy can instead mean validation data leaked into training.",
        "per-epoch train_loss, val_loss and val_accuracy",
        (Fix("compare_like_with_like", "Evaluate the training set in eval mode at the end of an epoch to compare "
             "the two losses on equal terms."),
         Fix("check_leakage", "Check that no validation examples (or near-duplicates) are in the training set."),
         Fix("check_split_difficulty", "Check the validation split is drawn from the same distribution."))),
}


def findings_from_symptoms(symptoms: Sequence[Symptom], has_numbers: bool) -> list[Finding]:
    """One finding per described symptom code, in catalog order, with `basis="description"`.

    `has_numbers`: the post also holds a parsed log; the findings are still returned (the caller decides
    which to show) but with lower confidence, since the numbers are the better witness."""
    by_code: dict[str, list[Symptom]] = {}
    for s in symptoms:
        if s.code in _TABLE:
            by_code.setdefault(s.code, []).append(s)
    out = []
    for code in FINDING_CODES:
        said = by_code.get(code)
        if not said:
            continue
        d = _TABLE[code]
        phrases = list(dict.fromkeys(s.phrase.strip() for s in said))
        confidence = min(MAX_CONFIDENCE, BASE_CONFIDENCE + 0.05 * (len(phrases) - 1))
        if has_numbers:
            confidence *= WITH_NUMBERS
        quoted = "; ".join(f'"{p}"' for p in phrases[:3])
        out.append(Finding(
            code=code,
            severity=d.severity,
            confidence=round(confidence, 3),
            onset=None,
            metrics=d.metrics,
            evidence={"phrase": phrases[0], "phrases": len(phrases), "confirm_with": d.confirm_with},
            summary=f"From the description ({quoted}): {d.summary[0].lower()}{d.summary[1:]}",
            explanation=d.explanation,
            fixes=d.fixes,
            basis="description",
        ))
    return out
