"""Symptoms a person describes in words ("the validation loss keeps increasing") mapped to finding codes.

Posts without numbers (the plot was an image) still say what the curves did; these phrases are the only
evidence there is. The patterns are phrase *families* (a subject, a few free words, a verb of motion),
not sentences from one post, so paraphrases match. Every gap is a bounded run of words that may not
cross a sentence end or name another curve, so the regexes stay linear and do not pair "training loss
decreases" with "validation loss increases" across a clause.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

NO_FINDING = ""  # a family that only claims its span, so that no other family reads it


@dataclass(frozen=True)
class Symptom:
    code: str  # one of the finding codes in `lossdoctor.diagnose.catalog.FINDING_CODES`
    phrase: str  # the matched text, verbatim
    start: int
    end: int


def _gap(n: int) -> str:
    """Up to `n` free words within one clause: no sentence end, no other curve or contrast word."""
    stop = (r"(?:val\w*|validation|test|dev|eval\w*|train\w*|loss\w*|acc\w*|whereas|but|however|decreas\w*|"
            r"reduc\w*|drops?|falls?|fell|declin\w*)\b")
    return rf"(?:(?!{stop})\w+(?:[^\w.!?;\n]|\.(?=\d))+){{0,{n}}}?"


_HELD_OUT = r"(?:validation|val|valid|testing|test|dev|eval(?:uation)?|held[- ]out)(?:[ _-]?set)?"
_VAL = rf"{_HELD_OUT}(?:(?: and | or |/){_HELD_OUT})?[ _-]?(?:loss|error|cost)"  # "validation and test loss"
_TRAIN = r"(?:training|train)(?:[ _-]?set)?[ _-]?(?:loss|error|cost)"
_LOSS = (rf"(?:{_TRAIN}|(?<!validation )(?<!val )(?<!valid )(?<!test )(?<!dev )(?<!eval )(?<![_-])"
         r"(?:the |my |our )?loss(?: value)?)")
_VAL_ACC = r"(?:validation|val|valid|test|dev)[ _-]?acc(?:uracy)?"
_ACC = r"(?:(?:training|train|validation|val|test)[ _-]?)?acc(?:uracy)?"
_UP = (r"(?:increas\w*|going up|goes up|go up|went up|rises|rising|rose|climb\w*|grow\w*|grew|worsen\w*|"
       r"(?:gets?|getting|got|becomes?|becoming) (?:higher|worse|bigger|larger)|trends? up\w*|upward)")
_DOWN = (r"(?:decreas\w*|going down|goes down|go down|went down|falls|falling|fell|drops?|dropp\w*|declin\w*|"
         r"reduc\w*|improv\w*|(?:gets?|getting|got) (?:lower|better|smaller))")
_THEN = r"(?:and |but )?(?:then|afterwards?|later|again|after (?:that|a while|some \w+))"
_FLAT = (r"(?:settl\w*|stays?|stayed|staying|remains?|remained|flat\w*|plateau\w*|constant|stable|stagnat\w*|"
         r"unchanged|(?:does ?n[o']?t|did ?n[o']?t) (?:change|improve)|the same|saturat\w*)")
_SUDDEN = r"(?:suddenly|abruptly|occasionally|sometimes)"  # a sudden jump is a spike, not the slow turn of a divergence
_NEG = re.compile(r"\b(?:not|no|never|without|neither|nor|hardly|barely)\b|n't\b|n[o']t\b", re.I)
_NUMBER_LOSS = re.compile(r"\bloss (?:of|is|was|at|reache[sd]|goes to|went to|jumps? to|=|:)\s*~?(\d{2,}(?:\.\d+)?)",
                          re.I)


@dataclass(frozen=True)
class _Family:
    code: str
    pattern: re.Pattern[str]
    negatable: bool = True  # False where the negation *is* the symptom ("loss does not decrease")
    needs: str | None = None  # another code that must also be present (overconfidence needs overfitting)


def _f(code: str, pattern: str, negatable: bool = True, needs: str | None = None) -> _Family:
    return _Family(code, re.compile(pattern, re.I), negatable, needs)


# Checked in order; a later match overlapping an earlier kept one is dropped (a spike is not also a rise).
_FAMILIES: tuple[_Family, ...] = (
    _f("exploding_nan", r"\b(?:nans?|inf|infinity)\b"),
    _f("exploding_nan", r"\bexplod\w* (?:gradient|weight|activation)s?|(?:gradient|weight)s? (?:explod\w*|blow\w* up)"
       r"|gradient explosion"),
    _f("val_spike", rf"\b{_VAL}\W+{_gap(4)}(?:shoot\w* up|shot up|spik\w*|skyrocket\w*|blow\w* up|"
       r"jump\w*+(?! around| up and down| back and forth)|"
       r"blew up|explod\w*|goes crazy|went crazy)"),
    _f("val_spike", rf"\b(?:sudden |huge |big )?(?:spikes?|jumps?) in (?:the |my )?{_VAL}"),
    _f("loss_spike", rf"\b{_LOSS}\W+{_gap(3)}(?:spik\w*|jumps? up|shoots? up)\W+{_gap(8)}(?:recover\w*|come\w* "
       r"back|goes? back|returns?|settles? (?:back|down)|then (?:decreas\w*|drops?|goes down))"),
    _f("loss_spike", r"\b(?:sudden |occasional |periodic |random |big )?spikes? in (?:the |my )?(?:training |train )?"
       r"loss\b"),
    _f("loss_spike", rf"\b{_LOSS}\W+{_gap(2)}{_SUDDEN} (?:jump\w*|spik\w*|shoots?|shot|explod\w*)"),
    _f("divergence", rf"\b{_LOSS}\W+{_gap(3)}{_DOWN}\W+{_gap(6)}{_THEN}\W+{_gap(3)}{_UP}"),
    _f("divergence", rf"\b{_TRAIN}\W+{_gap(4)}{_UP}"),
    _f("divergence", rf"\b(?:increas\w*|rising|growing|exploding) {_TRAIN}"),
    _f("divergence", r"(?<!validation )(?<!val )(?<!test )\b(?:training |train |my |the )acc(?:uracy)? "
       r"(?:suddenly |then |starts to |begins to )?(?:drops?|dropp\w*|decreas\w*|falls?|fell|deteriorat\w*|"
       r"collaps\w*)"),
    _f("divergence", r"\b(?:loss|training|model|optimi[sz]er|it) (?:\w+ ){0,2}diverg(?:es|ed|ing|e)\b"),
    # Both curves rising together is no overfitting, and alone it does not say which failure it is: the span is
    # claimed (so the validation half is not read as overfitting) and yields no finding.
    _f(NO_FINDING, rf"\b{_TRAIN} and (?:the )?{_VAL}\W+(?:both |all )?(?:\w+ )?{_UP}"),
    _f("overfitting", rf"\b{_VAL}\W+{_gap(5)}{_UP}"),
    _f("overfitting", rf"\b(?:increas\w*|rising|growing|climbing) {_VAL}"),
    _f("overfitting", r"\bover-?fit(?:s|ting|ted)?\b"),
    _f("overconfidence", r"\bover-?confiden\w*|\b(?:more|higher|over|increas\w*) (?:\w+ )?confiden\w* (?:on|in|for|"
       r"about|with) (?:the )?(?:wrong|incorrect|mistak\w*|misclassif\w*)|\b(?:wrong|incorrect|misclassified) "
       r"(?:\w+ ){0,3}with (?:a )?(?:higher|more|greater|increasing) confidence"),
    _f("overconfidence", rf"\b{_ACC}\W+{_gap(4)}{_FLAT}", negatable=False, needs="overfitting"),
    _f("overconfidence", rf"\b{_VAL_ACC}\W+{_gap(2)}(?:increas\w*|improv\w*|goes up|rises|rising)",
       needs="overfitting"),
    _f("plateau", rf"\b{_LOSS}\W+{_gap(4)}(?:stuck|stagnat\w*|plateau\w*|(?:is |stays |remains )?flat\b|"
       r"(?:does ?n[o']?t|did ?n[o']?t|is ?n[o']?t|was ?n[o']?t|won'?t|never|not|cannot|can'?t) (?:\w+ )?"
       r"(?:decreas\w*|go(?:ing)? down|chang\w*|improv\w*|mov\w*|budg\w*|drop\w*)|(?:stays?|stayed|remains?|"
       r"remained) (?:at \d|the same|constant|unchanged|high|around \d))", negatable=False),
    _f("plateau", r"\b(?:stuck|plateaus?|stays?) (?:at|around) (?:0\.69\d*|ln ?\(?\d+\)?|chance)", negatable=False),
    _f("plateau", r"\b(?:model|network|net) (?:is ?n[o']?t|does ?n[o']?t|did ?n[o']?t|not) (?:\w+ )?learn\w*",
       negatable=False),
    _f("oscillation", rf"\b(?:{_VAL}|{_LOSS}|{_ACC})\W+{_gap(4)}(?:fluctuat\w*|oscillat\w*|"
       r"jump\w* (?:around|up and down)|bounc\w*|unstable|erratic|noisy|volatile|jittery|zig-?zag\w*|"
       r"(?:goes|going|went) up and down|all over the place)"),
    _f("oscillation", rf"\b(?:fluctuations?|oscillations?|unstable|erratic|noisy|volatile) (?:\w+ ){{0,2}}"
       rf"(?:{_VAL}|{_LOSS}|{_ACC})"),
    _f("underfitting", r"\bunder-?fit(?:s|ting|ted)?\b"),
    _f("underfitting", r"\b(?:can'?t|cannot|can not|unable to|fails? to|does ?n[o']?t|did ?n[o']?t) (?:even )?"
       r"(?:fit|learn|memori[sz]e) (?:\w+ ){0,2}(?:training|train) (?:data|set|examples|samples)", negatable=False),
    _f("underfitting", rf"\b(?:training|train)[ _-]?acc(?:uracy)?\W+{_gap(3)}(?:low|poor|bad|stuck)\b"),
    _f("underfitting", rf"\b{_TRAIN}\W+{_gap(3)}(?:stays |remains )?(?:high|large)\b"),
    _f("val_below_train", rf"\b{_VAL}\W+{_gap(4)}(?:lower|less|lesser|smaller|below|better) (?:than|compared to) "
       r"(?:the |my )?"
       r"(?:training|train)"),
    _f("val_below_train", rf"\b{_TRAIN}\W+{_gap(4)}(?:higher|greater|larger|above|worse) than (?:the |my )?"
       r"(?:validation|val|test)"),
    _f("val_below_train", r"\b(?:validation|val|test)[ _-]?acc(?:uracy)?\W+(?:\w+\W+){0,4}?(?:higher|greater|better) "
       r"than (?:the |my )?(?:training|train)"),
)


def _negated(text: str, start: int, phrase: str, family: _Family) -> bool:
    """A negator right before the phrase ("without facing nan") or inside it ("val loss does not increase").

    Only the two words before count, so "not sure why the validation loss increases" stays a symptom."""
    if not family.negatable:
        return False
    before = text[max(0, start - 40) : start].split()[-2:]
    return bool(_NEG.search(" ".join(before)) or _NEG.search(phrase))


def _big_loss_numbers(text: str) -> list[Symptom]:
    """"a loss of 184" next to a mention of validation: a validation loss far above any training loss."""
    out = []
    for m in _NUMBER_LOSS.finditer(text):
        near = text[max(0, m.start() - 250) : m.end()].lower()
        if float(m.group(1)) >= 50 and ("validation" in near or "val " in near or "val_loss" in near):
            out.append(Symptom("val_spike", m.group(0), m.start(), m.end()))
    return out


class _Taken:
    """Kept phrase spans, which never overlap: sorted starts and ends make the overlap test a bisection."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)
        return i > 0 and self.ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def find_symptoms(prose: str) -> list[Symptom]:
    """Every described symptom in `prose`, in text order.

    Callers pass the post with code and log spans blanked out (same length, so offsets are the post's).
    A family marked `needs` only counts when the post also describes that other symptom: "accuracy stays
    flat" is overconfidence only next to a rising validation loss; alone it says nothing."""
    kept: list[tuple[Symptom, _Family | None]] = []
    taken = _Taken()
    for family in _FAMILIES:
        for m in family.pattern.finditer(prose):
            if _negated(prose, m.start(), m.group(0), family) or taken.overlaps(m.start(), m.end()):
                continue
            kept.append((Symptom(family.code, m.group(0), m.start(), m.end()), family))
            taken.add(m.start(), m.end())
    for extra in _big_loss_numbers(prose):
        if not taken.overlaps(extra.start, extra.end):
            kept.append((extra, None))
            taken.add(extra.start, extra.end)
    kept = [(s, f) for s, f in kept if s.code != NO_FINDING]
    present = {s.code for s, f in kept if f is None or f.needs is None}
    out = [s for s, f in kept if f is None or f.needs is None or f.needs in present]
    return sorted(out, key=lambda s: s.start)
