"""Tag a corpus with a trained model and score it."""

from __future__ import annotations

import keras

from tagger.data.encode import encode
from tagger.data.readers import Corpus
from tagger.data.vocab import Vocabularies
from tagger.metrics import labels_of, score_tags
from tagger.model import predict_probabilities


def score_corpus(model: keras.Model, corpus: Corpus, vocab: Vocabularies, *, max_chars: int | None = None,
                 batch_size: int = 128, name: str = "corpus") -> dict:
    """Scores of `model` on every token of `corpus` (sentences are never cut for scoring)."""
    data = encode(corpus, vocab, max_chars=max_chars, name=name)
    predicted = labels_of(predict_probabilities(model, data, batch_size=batch_size), vocab.labels.items)
    return score_tags(corpus.tags, predicted, vocab.labels.items)
