"""Every named choice a user makes, written once: the code checks against these lists and
`schema.py` builds its config enums from them. Plus the training options that do not go together.

No TensorFlow and no Hydra here, so that the schemas load without either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from tagger.data.tags import is_span_labelling, span_scheme

AUTO = "auto"  # model.head and trainer.monitor: chosen from the training labels (`choose_recipe`)
OPTIMIZERS = ("adam", "nadam", "adamw", "sgd")
WEIGHTING_SCHEMES = ("none", "balanced", "inverse", "inverse_sqrt", "log", "median_frequency", "effective_number",
                     "custom")
CHAR_ENCODERS = ("lstm", "cnn", "none")
HEADS = ("softmax", "crf")  # model.head
MULTI_LABEL_HEAD = "sigmoid"  # not a model.head choice: data.multi_label=true gives it
# emission: each position's emission scores x its token weight; sentence: each sentence's NLL x its mean token weight
CRF_WEIGHTINGS = ("emission", "sentence")
OUTPUT_BIASES = ("zeros", "prior")  # prior: the untrained model predicts the training label distribution
LOSSES = ("crossentropy", "focal")
MONITORS = ("val_macro_f1", "val_micro_f1", "val_entity_f1", "val_loss")
# default: one device (the GPU if there is one, else the CPU); mirrored: MirroredStrategy over every visible GPU;
# multi_worker: MultiWorkerMirroredStrategy over the machines that TF_CONFIG (or a Slurm job step) names
STRATEGIES = ("default", "mirrored", "multi_worker")
# conll: one token per line (first column), blank line between sentences; text: one whitespace-tokenised
# sentence per line
INPUT_FORMATS = ("conll", "text")
# data.tag_scheme, the labels a model trains on: auto (IOBES for IOB2 span tags: `choose_tag_scheme`); iobes
# (IOB/IOB2 span tags as IOBES); as_read (the tags as the data gives them)
TAG_SCHEMES = (AUTO, "iobes", "as_read")
# error: refuse gold labels the checkpoint was not trained on, listing them; as_o: score them as O;
# ignore: leave their tokens out of the scores
UNKNOWN_LABELS = ("error", "as_o", "ignore")

# Sentences to score at once. Prediction batches sentences of similar length, so a large batch carries
# little padding; on a 2-core CPU 512 tagged WNUT-2017 about 1.4x faster than 128.
PREDICT_BATCH_SIZE = 512


def check_options(labels: Sequence[str], *, multi_label: bool = False, head: str = "softmax",
                  loss: str = "crossentropy", logit_adjustment: bool = False, monitor: str = "val_macro_f1",
                  crf_constraints: bool = False) -> None:
    """Refuse, with a ValueError saying what to change, training options that do not go together
    or do not suit the training `labels`.

    >>> check_options(["O", "B-X"], head="crf", crf_constraints=True)
    >>> check_options(["NOUN", "VERB"], monitor="val_entity_f1")
    Traceback (most recent call last):
    ValueError: trainer.monitor=val_entity_f1 needs IOB/IOB2/IOBES labels; use val_macro_f1
    """
    if len(labels) < (1 if multi_label else 2):
        raise ValueError(f"training data has labels {list(labels)}: there is nothing to learn")
    if monitor == "val_entity_f1" and not is_span_labelling(labels):
        raise ValueError("trainer.monitor=val_entity_f1 needs IOB/IOB2/IOBES labels; use val_macro_f1")
    if head == "crf" and (loss == "focal" or logit_adjustment):
        raise ValueError("model.head=crf has its own loss: it takes neither loss=focal nor trainer.logit_adjustment")
    if multi_label and (head == "crf" or loss == "focal" or logit_adjustment or monitor == "val_entity_f1"):
        raise ValueError("data.multi_label=true trains independent sigmoids with a weighted binary cross-entropy: "
                         "it takes no CRF head, focal loss, logit adjustment or entity monitor")
    if crf_constraints and not is_span_labelling(labels):
        raise ValueError("model.crf_constraints=true needs IOB2/IOBES labels")


def choose_tag_scheme(tag_scheme: str, labels: Sequence[str], *, iob2_breaks: int = 0,
                      multi_label: bool = False) -> tuple[bool, str]:
    """(train on IOBES labels?, why) for training tags with `labels` among which `iob2_breaks` `I-` tags
    open a span. IOBES labels are written back as IOB2 tags (`tags.iob2_name`), so scores, predictions
    and exports stay in the data's scheme.

    `auto` trains IOB2 span tags as IOBES, which measured better for entity F1 (README, Measured), and
    keeps IOBES tags, IOB1 tags (or broken IOB2) and other labels as read; `iobes` trains any IOB/IOB2
    span tags as IOBES (an `I-` tag that opens a span opens it, and is written back as `B-`); `as_read`
    keeps the tags as the data gives them.

    >>> choose_tag_scheme("auto", ["O", "B-X", "I-X"])
    (True, 'IOB2 tags, trained as IOBES and written back as IOB2 (data.tag_scheme=auto)')
    >>> choose_tag_scheme("auto", ["O", "I-X"], iob2_breaks=3)[0], choose_tag_scheme("auto", ["NOUN"])
    (False, (False, ''))
    >>> choose_tag_scheme("iobes", ["NOUN", "VERB"])
    Traceback (most recent call last):
    ValueError: data.tag_scheme=iobes needs IOB/IOB2 span tags, and the training labels are not (NOUN, VERB); use data.tag_scheme=auto
    """
    if tag_scheme not in TAG_SCHEMES:
        raise ValueError(f"tag_scheme must be one of {TAG_SCHEMES}, got {tag_scheme!r}")
    scheme = None if multi_label else span_scheme(labels)
    if tag_scheme == "iobes" and scheme != "IOB2":
        shown = ", ".join(list(labels)[:5]) + (", ..." if len(labels) > 5 else "")
        kind = "are IOBES already" if scheme == "IOBES" else "are multi-label tags" if multi_label else "are not"
        raise ValueError(f"data.tag_scheme=iobes needs IOB/IOB2 span tags, and the training labels {kind}"
                         f"{f' ({shown})' if shown else ''}; use data.tag_scheme=auto")
    if tag_scheme == "as_read" or scheme != "IOB2":
        return False, "" if scheme is None else f"{scheme} tags, trained as read (data.tag_scheme={tag_scheme})"
    if tag_scheme == AUTO and iob2_breaks:
        return False, (f"IOB1 tags or broken IOB2 ({iob2_breaks} I- tags open a span), trained as read "
                       "(data.tag_scheme=auto; data.tag_scheme=iobes trains them as IOBES)")
    return True, f"IOB2 tags, trained as IOBES and written back as IOB2 (data.tag_scheme={tag_scheme})"


class Recipe(NamedTuple):
    """The head, monitor and CRF constraints a run uses, and why (for the training banner)."""

    head: str
    monitor: str
    crf_constraints: bool
    why: str


def choose_recipe(labels: Sequence[str], *, multi_label: bool = False, head: str = AUTO, monitor: str = AUTO,
                  crf_constraints: bool | None = None, loss: str = "crossentropy",
                  logit_adjustment: bool = False) -> Recipe:
    """Make every `auto` choice from the training `labels` (choices given are kept), then
    `check_options` the result.

    Span labels (IOB/IOB2/IOBES) get the recipe that measured best for entity F1: a CRF with span
    constraints, checkpointed on dev entity F1. Other labels (part-of-speech tags, label sets) get a
    softmax checkpointed on dev macro-F1. No CRF is chosen for a focal `loss` or a `logit_adjustment`,
    which need a softmax.

    >>> choose_recipe(["O", "B-X", "I-X"])[:3], choose_recipe(["NOUN", "VERB"])[:3]
    (('crf', 'val_entity_f1', True), ('softmax', 'val_macro_f1', False))
    >>> choose_recipe(["O", "B-X"], head="softmax").why
    'span labels (IOB/IOB2/IOBES): chose trainer.monitor=val_entity_f1'
    """
    spans = not multi_label and is_span_labelling(labels)
    chosen = []
    if head == AUTO:
        head = "crf" if spans and loss != "focal" and not logit_adjustment else "softmax"
        chosen.append(f"model.head={head}")
    if crf_constraints is None:
        crf_constraints = head == "crf" and spans
        if head == "crf":
            chosen.append(f"model.crf_constraints={str(crf_constraints).lower()}")
    if monitor == AUTO:
        monitor = "val_entity_f1" if spans else "val_macro_f1"
        chosen.append(f"trainer.monitor={monitor}")
    kind = "span labels (IOB/IOB2/IOBES)" if spans else "labels that are not IOB/IOB2/IOBES spans"
    check_options(labels, multi_label=multi_label, head=head, loss=loss, logit_adjustment=logit_adjustment,
                  monitor=monitor, crf_constraints=crf_constraints)
    return Recipe(head, monitor, crf_constraints, f"{kind}: {'chose ' + ' '.join(chosen) if chosen else 'all given'}")
