"""Model outputs -> tags -> scores: prediction in length-sorted batches; decoding (argmax, Viterbi,
thresholds, logit adjustment); the policy for gold labels the model does not know; scores of an
encoded or a raw corpus; and tuning the logit adjustment's tau.

Each split is predicted once per scoring pass: `score_outputs` scores outputs already computed,
and `score_splits` reuses dev's outputs to tune tau.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from tagger.data.encode import Encoded, encode, make_dataset
from tagger.data.readers import Corpus
from tagger.data.tags import MULTI_LABEL_SEPARATOR, OUTSIDE, label_set
from tagger.data.vocab import UNK, Vocabularies
from tagger.metrics import score_tags
from tagger.options import PREDICT_BATCH_SIZE, UNKNOWN_LABELS

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

TAU_GRID = tuple(np.round(np.arange(0.0, 2.01, 0.25), 2))  # logit adjustment strengths tried on dev


def predict_probabilities(model: keras.Model, data: Encoded, *, batch_size: int = PREDICT_BATCH_SIZE) -> list[np.ndarray]:
    """Per sentence, a (tokens, labels) array of the model's outputs, in corpus order: tag
    probabilities, or emission scores for a CRF head.

    Sentences are batched in order of length, so each batch carries little padding.
    """
    order = np.argsort(data.lengths, kind="stable")
    results: list[np.ndarray] = [None] * len(order)
    position = 0
    predict = model.predict_on_batch
    if model.distribute_strategy.num_replicas_in_sync > 1:
        # Keras 3.15's predict_on_batch under a MirroredStrategy runs the whole batch on every replica
        # and returns the copies concatenated
        predict = lambda batch: model(batch, training=False)  # noqa: E731
    for batch in make_dataset(data, batch_size=batch_size, order=order):
        probabilities = np.asarray(predict(batch))
        for row in probabilities:
            sentence = order[position]
            results[sentence] = row[: data.lengths[sentence]].copy()  # not a view that keeps the padded batch
            position += 1
    return results


def has_crf(model: keras.Model) -> bool:
    """True when the model ends in a CRF layer (its outputs are emission scores, decoded by Viterbi)."""
    return any(layer.name == "crf" for layer in model.layers)


def best_paths(model: keras.Model, outputs: list[np.ndarray], logit_shift: np.ndarray | None = None, *,
               multi_label: bool = False, threshold: float = 0.5) -> list[np.ndarray]:
    """Label ids per sentence: for `multi_label` tags (a sigmoid head), (tokens, labels) booleans, the
    labels of probability >= `threshold`; the Viterbi path for a CRF head; else the most probable
    label, or with `logit_shift` the label of highest ln p - shift (post-hoc logit adjustment,
    shift = tau ln prior).
    """
    if multi_label:
        return [p >= threshold for p in outputs]
    if has_crf(model):
        if logit_shift is not None:
            raise ValueError("logit adjustment applies to a softmax head, not to a CRF")
        from tagger.crf import viterbi  # crf.py loads TensorFlow; the model that needs it already has

        scores = model.get_layer("crf").numpy_scores()
        return [viterbi(emissions, *scores) for emissions in outputs]
    if logit_shift is None:
        return [p.argmax(axis=-1) for p in outputs]
    return [(np.log(np.maximum(p, 1e-12)) - logit_shift).argmax(axis=-1) for p in outputs]


def labels_of(paths: list[np.ndarray], label_names) -> list[list[str]]:
    """Tags of label-id paths, or of (tokens, labels) boolean label sets (joined `A|B`, `O` for none).

    >>> labels_of([np.array([0, 1])], ["O", "X"]), labels_of([np.array([[True, True], [False, False]])], ["A", "B"])
    ([['O', 'X']], [['A|B', 'O']])
    """
    names = np.asarray(label_names)
    if paths and np.asarray(paths[0]).ndim == 2:
        return [[MULTI_LABEL_SEPARATOR.join(names[row]) or OUTSIDE for row in path] for path in paths]
    return [names[path].tolist() for path in paths]


def tags_in_graph(outputs, lengths, label_names, *, crf_scores=None, logit_shift=None, multi_label: bool = False,
                  threshold: float = 0.5):
    """`best_paths` then `labels_of` in TensorFlow ops, for a graph that serves tags (tagger.serving):
    (batch, time) tag strings of a batch of model `outputs` (batch, time, labels), "" past each
    sentence's length.

    `crf_scores` (transitions, start, end; `numpy_scores` of the CRF layer) for a CRF head; the
    other options as for `best_paths`. Each decision is computed as `best_paths` computes it (a
    logit shift is subtracted in float64, as numpy does with the float64 shift).
    """
    import tensorflow as tf

    outputs = tf.convert_to_tensor(outputs)
    names = tf.constant(list(label_names), tf.string)
    if multi_label:
        joined = tf.strings.reduce_join(tf.where(outputs >= threshold, names + MULTI_LABEL_SEPARATOR, ""), axis=-1)
        length = tf.maximum(tf.strings.length(joined) - 1, 0)
        joined = tf.strings.substr(joined, tf.zeros_like(length), length)  # without the last separator
        tags = tf.where(joined == "", OUTSIDE, joined)
    else:
        if crf_scores is not None:
            if logit_shift is not None:
                raise ValueError("logit adjustment applies to a softmax head, not to a CRF")
            from tagger.crf import viterbi_in_graph

            paths = viterbi_in_graph(outputs, lengths, *crf_scores)
        elif logit_shift is None:
            paths = tf.argmax(outputs, axis=-1)
        else:
            log_probabilities = tf.math.log(tf.maximum(outputs, tf.constant(1e-12, outputs.dtype)))
            paths = tf.argmax(tf.cast(log_probabilities, tf.float64) - tf.constant(logit_shift, tf.float64), axis=-1)
        tags = tf.gather(names, paths)
    real = tf.range(tf.shape(tags)[1])[None, :] < tf.cast(lengths, tf.int32)[:, None]
    return tf.where(real, tags, "")


def tag_probabilities(probabilities: np.ndarray, label_names, best: np.ndarray) -> np.ndarray:
    """Per token of one sentence's (tokens, labels) `probabilities`, the probability of the tag that its
    label `best` is written as: the sum over every label with that name.

    >>> tag_probabilities(np.array([[0.4, 0.35, 0.25], [0.1, 0.8, 0.1]]), ["B-X", "O", "B-X"], np.array([0, 1]))
    array([0.65, 0.8 ])
    """
    names = np.asarray(label_names)
    return (probabilities * (names[best][:, None] == names[None, :])).sum(axis=-1)


def tags_and_probabilities(model: keras.Model, outputs: list[np.ndarray], label_names, *, multi_label: bool = False,
                           logit_shift: np.ndarray | None = None, threshold: float = 0.5):
    """Per sentence of the model `outputs`, (tags, probability of each tag): for a softmax the most
    probable label and the probability of its tag (summed over the labels written as that tag: `S-X`
    and `B-X` of an IOBES model are both `B-X`), renormalised after a logit adjustment (p / prior^tau);
    NaN for a CRF's paths and multi-label sets, which have no single per-token probability."""
    labels = np.asarray(label_names)
    if multi_label or has_crf(model):
        for tags in labels_of(best_paths(model, outputs, multi_label=multi_label, threshold=threshold), labels):
            yield tags, [float("nan")] * len(tags)
        return
    for probabilities in outputs:
        if logit_shift is not None:
            adjusted = np.exp(np.log(np.maximum(probabilities, 1e-12)) - logit_shift)
            probabilities = adjusted / adjusted.sum(axis=-1, keepdims=True)
        best = probabilities.argmax(axis=-1)
        yield labels[best].tolist(), tag_probabilities(probabilities, labels, best).tolist()


def resolve_unknown_labels(gold, predicted, known, policy: str | None, *, name: str = "corpus",
                           multi_label: bool = False):
    """Apply the `unknown_labels` policy (None, error, as_o, ignore) to gold tags the model does not know.

    For multi-label tags the policy applies to their single labels: `as_o` drops unknown labels
    from a token's set, `ignore` leaves out the tokens that have one.

    >>> resolve_unknown_labels([["O", "B-NEW"]], [["O", "O"]], ["O"], "ignore")
    ([['O']], [['O']])
    >>> resolve_unknown_labels([["A|NEW"]], [["A"]], ["A"], "as_o", multi_label=True)
    ([['A']], [['A']])
    """
    if policy is not None and policy not in UNKNOWN_LABELS:
        raise ValueError(f"unknown_labels must be one of {UNKNOWN_LABELS}, got {policy!r}")
    known = set(known)
    labels_in = label_set if multi_label else (lambda tag: {tag})
    unknown = Counter(label for sentence in gold for tag in sentence for label in labels_in(tag) if label not in known)
    if not unknown or policy is None:
        return gold, predicted
    if policy == "error":
        raise ValueError(f"{name}: labels the checkpoint was not trained on (tokens: {dict(unknown)}); "
                         "score them as O with unknown_labels=as_o, or leave them out with unknown_labels=ignore")
    if policy == "as_o":
        if not multi_label and OUTSIDE not in known:
            raise ValueError(f"unknown_labels=as_o needs an {OUTSIDE!r} label, and the checkpoint has none")
        log.warning("%s: scoring labels the checkpoint does not know as O (tokens: %s)", name, dict(unknown))
        if multi_label:
            fix = lambda tag: MULTI_LABEL_SEPARATOR.join(sorted(label_set(tag) & known)) or OUTSIDE  # noqa: E731
        else:
            fix = lambda tag: tag if tag in known else OUTSIDE  # noqa: E731
        return [[fix(t) for t in s] for s in gold], predicted
    log.warning("%s: leaving out tokens with labels the checkpoint does not know (tokens: %s)", name, dict(unknown))
    kept = [[(g, p) for g, p in zip(gs, ps) if labels_in(g) <= known] for gs, ps in zip(gold, predicted)]
    return [[g for g, _ in s] for s in kept], [[p for _, p in s] for s in kept]


def score_outputs(model: keras.Model, outputs: list[np.ndarray], data: Encoded, gold: list[list[str]], label_names, *,
                  multi_label: bool = False, strict: bool = False, unknown_labels: str | None = None,
                  logit_shift=None, threshold: float = 0.5, name: str = "corpus") -> dict:
    """Scores of the model `outputs` (from `predict_probabilities`) on encoded sentences against their
    `gold` tags, with the share of tokens outside the word vocabulary (`oov_rate`).

    Gold labels the model does not know are scored as given (they count as misses) unless
    `unknown_labels` says otherwise: `error` refuses them, `as_o` scores them as `O`, `ignore`
    leaves their tokens out of the scores. `logit_shift` applies a logit adjustment; `threshold`
    decides `multi_label` tags; `strict` scores entities by strict IOB2/IOBES rules.
    """
    paths = best_paths(model, outputs, logit_shift, multi_label=multi_label, threshold=threshold)
    gold, predicted = resolve_unknown_labels(gold, labels_of(paths, label_names), label_names, unknown_labels,
                                             name=name, multi_label=multi_label)
    scores = score_tags(gold, predicted, label_names, strict=strict, multi_label=multi_label)
    scores["oov_rate"] = float((data.word_ids == UNK).mean()) if data.num_tokens else 0.0
    return scores


def score_encoded(model: keras.Model, data: Encoded, gold: list[list[str]], label_names, *,
                  batch_size: int = PREDICT_BATCH_SIZE, **options) -> dict:
    """Predict encoded sentences and score them; `options` as for `score_outputs`."""
    outputs = predict_probabilities(model, data, batch_size=batch_size)
    return score_outputs(model, outputs, data, gold, label_names, **options)


def score_corpus(model: keras.Model, corpus: Corpus, vocab: Vocabularies, *, max_chars: int | None = None,
                 name: str = "corpus", **options) -> dict:
    """Scores of `model` on every token of `corpus` (sentences are never cut for scoring); `options`
    as for `score_encoded`."""
    data = encode(corpus, vocab, max_chars=max_chars, name=name)
    return score_encoded(model, data, corpus.tags, vocab.tag_names, multi_label=vocab.multi_label, name=name,
                         **options)


def tune_logit_adjustment(model: keras.Model, outputs: list[np.ndarray], gold, label_names, log_priors: np.ndarray, *,
                          taus=TAU_GRID) -> tuple[float, dict[float, float]]:
    """The tau of `taus` whose adjustment ln p - tau ln prior (Menon et al. 2021) of the model
    `outputs` gives the best macro-F1 against `gold`, and the macro-F1 of every tau. Ties go to the
    smaller tau."""
    macro = {float(tau): score_tags(gold, labels_of(best_paths(model, outputs, tau * log_priors), label_names),
                                    label_names)["macro_f1"] for tau in taus}
    return max(macro, key=lambda tau: (macro[tau], -tau)), macro


def score_splits(model: keras.Model, splits: dict[str, tuple[Encoded, list[list[str]]]], label_names, *,
                 log_priors: np.ndarray | None = None, batch_size: int = PREDICT_BATCH_SIZE,
                 **options) -> tuple[dict[str, dict], float | None]:
    """Scores of `model` on each split of `splits` (name -> (encoded sentences, gold tags)), each
    predicted once; `options` as for `score_outputs`.

    With `log_priors`, the logit adjustment's tau is tuned on the predictions of the `dev` split, and
    every split is scored again with it as `NAME_logit_adjusted`. Returns (scores by name, tau or None).
    """
    outputs = {name: predict_probabilities(model, data, batch_size=batch_size) for name, (data, _) in splits.items()}
    scored = {name: score_outputs(model, outputs[name], data, gold, label_names, name=name, **options)
              for name, (data, gold) in splits.items()}
    if log_priors is None:
        return scored, None
    tau, macro = tune_logit_adjustment(model, outputs["dev"], splits["dev"][1], label_names, log_priors)
    log.info("logit adjustment: tau=%.2f (dev macro-F1 by tau: %s)", tau,
             ", ".join(f"{t:g}: {f:.4f}" for t, f in macro.items()))
    for name, (data, gold) in splits.items():
        scored[f"{name}_logit_adjusted"] = score_outputs(model, outputs[name], data, gold, label_names, name=name,
                                                         logit_shift=tau * log_priors, **options)
    return scored, tau
