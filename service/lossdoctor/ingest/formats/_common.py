"""Helpers every format module shares: size caps, decoding, number tokens and name clean-up."""

from __future__ import annotations

import math
import re

from lossdoctor.exceptions import InputTooLarge, UnreadableInput
from lossdoctor.ingest.names import CANONICAL, canonical_name

# Caps keep every parser's work bounded whatever arrives (the HTTP layer may cap lower). Free-form
# console text gets the lower cap: its grammar costs up to ~2.5 us per character on token soup.
MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_TEXT_CHARS = 16 * 1024 * 1024

# One number token, as loggers print them; no nested quantifiers, so matching is linear.
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
NON_FINITE = {
    "nan": math.nan, "-nan": math.nan, "+nan": math.nan, "inf": math.inf, "+inf": math.inf,
    "infinity": math.inf, "+infinity": math.inf, "-inf": -math.inf, "-infinity": -math.inf,
}
_NUMBER_RE = re.compile(NUMBER)
_LR_GROUP = re.compile(r"(?i)lr-[\w.]{1,40}(?:/pg1)?")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def check_size(data: bytes | str, limit: int = MAX_INPUT_BYTES) -> None:
    """Refuse inputs past the cap before any parser walks them."""
    if len(data) > limit:
        raise InputTooLarge(
            f"the input is {len(data):,} bytes; the limit is {limit:,}. Send a shorter log or down-sample "
            "it.",
            limit=limit,
        )


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else is not a text log."""
    check_size(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableInput(
                f"the input is not UTF-8 text (bad byte at offset {exc.start}); save the log as UTF-8 and "
                "retry"
            ) from None
    raise UnreadableInput("the input has a UTF-16 byte-order mark but is not valid UTF-16; save it as UTF-8")


def to_float(token: str, decimal_comma: bool = False) -> float | None:
    """A printed number or a non-finite token (`nan`, `-inf`, `Infinity`); None when it is neither."""
    text = token.strip()
    if decimal_comma:
        text = text.replace(",", ".")
    low = text.lower()
    if low in NON_FINITE:
        return NON_FINITE[low]
    if _NUMBER_RE.fullmatch(text):
        return float(text)
    return None


def clean_name(raw: str) -> str:
    """Spellings that `names.py` does not know but that clearly mean a canonical curve.

    Lightning's `train_loss_epoch`, its `lr-AdamW` learning-rate monitor (param group 1), history
    keys such as `train_loss_history` and camel case (`ValLoss`) all map to the canonical name;
    anything else is returned unchanged so build_run keeps it as sent.
    """
    name = raw.strip()
    if _LR_GROUP.fullmatch(name):
        return "lr"
    if canonical_name(name) in CANONICAL:
        return name
    for suffix in ("_epoch", "_history", "_hist"):
        if name.lower().endswith(suffix) and canonical_name(name[: -len(suffix)]) in CANONICAL:
            return name[: -len(suffix)]
    split = _CAMEL.sub("_", name)
    if split != name and canonical_name(split) in CANONICAL:
        return split
    return name
