"""Tag formats: the outside label, multi-label tags (`A|B`) and IOB/IOB2/IOBES span labels.

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
