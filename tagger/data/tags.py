"""Tag formats: the outside label, multi-label tags (`A|B`), IOB/IOB2/IOBES span labels, and the
IOB2 <-> IOBES conversion of span tags.

The data side (vocabulary, encoding), the CRF's transition rules and the scores all read tags
through these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

OUTSIDE = "O"
MULTI_LABEL_SEPARATOR = "|"
_SPAN_LABEL = re.compile(r"^([BIESLU])-(.+)$")


def label_set(tag: str) -> set[str]:
    """The labels of a multi-label tag: `A|B` -> {A, B}; `O` (or empty) -> no label.

    >>> sorted(label_set("B-X|C")), label_set("O")
    (['B-X', 'C'], set())
    """
    return {label for label in tag.split(MULTI_LABEL_SEPARATOR) if label and label != OUTSIDE}


def span_parts(label: str) -> tuple[str | None, str | None]:
    """(prefix, entity type) of a span label, (None, None) for any other label.

    >>> span_parts("I-LOC"), span_parts("O"), span_parts("NOUN")
    (('I', 'LOC'), (None, None), (None, None))
    """
    match = _SPAN_LABEL.match(label)
    return (match.group(1), match.group(2)) if match else (None, None)


def is_span_labelling(labels: Sequence[str]) -> bool:
    """True when the labels are IOB/IOB2/IOBES span tags, so entity-level scores apply.

    >>> is_span_labelling(["O", "B-PER", "I-PER"]), is_span_labelling(["NOUN", "VERB"])
    (True, False)
    """
    spans = [label for label in labels if label != OUTSIDE]
    return bool(spans) and all(_SPAN_LABEL.match(label) for label in spans)


def uses_iobes(tags: Iterable[str]) -> bool:
    """True when some tag has an `E-` or `S-` prefix: the IOBES scheme rather than IOB/IOB2.

    >>> uses_iobes(["B-X", "E-X", "O"]), uses_iobes(["B-X", "I-X"])
    (True, False)
    """
    return any(tag[:2] in ("E-", "S-") for tag in tags)


def span_scheme(labels: Sequence[str]) -> str | None:
    """The span scheme of a label set: `IOBES`, `IOB2` (IOB/IOB2 spans), or None for other labels.

    >>> span_scheme(["O", "S-X", "B-X", "I-X", "E-X"]), span_scheme(["O", "B-X"]), span_scheme(["NOUN"])
    ('IOBES', 'IOB2', None)
    """
    if not is_span_labelling(labels):
        return None
    return "IOBES" if uses_iobes(labels) else "IOB2"


def starts_span(tags: Sequence[str], i: int) -> bool:
    """True when the span tag `tags[i]` opens a span: a `B-`/`S-` tag, or an `I-`/`E-` tag that does not
    continue a span of its type (IOB1, or broken IOB2); False for `O` and labels that are not spans.

    >>> [starts_span(["B-X", "I-X", "I-Y", "O", "I-X"], i) for i in range(5)]
    [True, False, True, False, True]
    """
    prefix, kind = span_parts(tags[i])
    if prefix in ("B", "S"):
        return True
    if prefix not in ("I", "E"):
        return False
    before, before_kind = span_parts(tags[i - 1]) if i else (None, None)
    return before_kind != kind or before not in ("B", "I")


def iob2_breaks(tags: Sequence[str]) -> int:
    """How many `I-` tags of one sentence open a span (IOB1 tags, or broken IOB2), which IOB2 forbids.

    >>> iob2_breaks(["B-X", "I-X", "O", "I-X", "I-Y"]), iob2_breaks(["B-X", "I-X", "B-X"])
    (2, 0)
    """
    return sum(1 for i, tag in enumerate(tags) if tag.startswith("I-") and starts_span(tags, i))


def to_iobes(tags: Sequence[str]) -> list[str]:
    """The IOBES tags of one sentence of IOB2 (or IOB1) span tags: a span of one token is `S-X`, a longer
    one `B-X I-X ... E-X`; `O` and other labels are kept. An `I-X` that opens a span opens it.

    >>> to_iobes(["B-X", "O", "B-X", "I-X", "I-X", "B-X", "I-Y", "O"])
    ['S-X', 'O', 'B-X', 'I-X', 'E-X', 'S-X', 'S-Y', 'O']
    """
    converted = []
    for i, tag in enumerate(tags):
        prefix, kind = span_parts(tag)
        if prefix not in ("B", "I"):
            converted.append(tag)
            continue
        begins = prefix == "B" or starts_span(tags, i)
        ends = i + 1 == len(tags) or starts_span(tags, i + 1) or span_parts(tags[i + 1])[1] != kind
        converted.append(f"{('S' if ends else 'B') if begins else ('E' if ends else 'I')}-{kind}")
    return converted


def iob2_name(label: str) -> str:
    """The IOB2 tag that an IOBES label is written as: `S-X` -> `B-X`, `E-X` -> `I-X`, others kept, so
    that the IOBES tags of a sentence become its IOB2 tags again.

    >>> [iob2_name(label) for label in to_iobes(["B-X", "O", "B-X", "I-X", "I-X"])]
    ['B-X', 'O', 'B-X', 'I-X', 'I-X']
    """
    prefix, kind = span_parts(label)
    return {"S": f"B-{kind}", "E": f"I-{kind}"}.get(prefix, label)
