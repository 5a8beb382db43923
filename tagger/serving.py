"""The SavedModel that tags token strings (what `python -m tagger.export` writes).

Its serving signature (`serving_default`, also callable as `.serve`) takes `tokens`, a (batch,
time) string tensor padded with anything, and `lengths`, a (batch,) int32 tensor of each
sentence's number of tokens, and returns `tags`, a (batch, time) string tensor ("" on padding).
Everything `python -m tagger.predict` does between tokens and tags is inside the graph: the word
lookup with the checkpoint's normalisation (unknown words read as `<unk>`), the characters cut at
`max_chars`, the network, and the decoding (argmax, the logit adjustment, Viterbi with the CRF's
constraints, multi-label thresholds), so loading it needs TensorFlow alone.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from tagger.checkpoint import Checkpoint
from tagger.data.vocab import PAD, UNK, Vocabularies, Vocabulary, normalize_words_in_graph
from tagger.scoring import has_crf, tags_in_graph

SIGNATURE = [tf.TensorSpec([None, None], tf.string, name="tokens"), tf.TensorSpec([None], tf.int32, name="lengths")]


def lookup_table(vocabulary: Vocabulary) -> tf.lookup.StaticHashTable:
    """`vocabulary.index` as a TensorFlow table: each item's id, UNK for any other string."""
    items = list(dict.fromkeys(vocabulary.items))
    ids = [vocabulary.index(item) for item in items]
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(items, ids, tf.string, tf.int32), UNK)


class TokenEncoder(tf.Module):
    """What `encode` and a prediction batch of `make_dataset` make of token strings, in TensorFlow
    ops: (batch, time) tokens, padded with anything, and (batch,) lengths -> the model's features
    `{"words", "chars"}`, padded to the longest sentence and word (cut at `max_chars`) of the batch.

    Words are looked up after the vocabulary's normalisation (unknown words: UNK); characters are
    the code points of the token as given (unknown characters: UNK). The lookup tables are tracked
    by this module, so that a SavedModel holding it holds them.
    """

    def __init__(self, vocab: Vocabularies, *, max_chars: int | None = None):
        super().__init__(name="token_encoder")
        self.word_ids, self.char_ids = lookup_table(vocab.words), lookup_table(vocab.chars)
        self.lowercase, self.digits_to_zero, self.max_chars = vocab.lowercase, vocab.digits_to_zero, max_chars

    def __call__(self, tokens, lengths) -> dict:
        time = tf.maximum(tf.reduce_max(lengths), 1)  # the longest sentence (an empty batch: one padding column)
        real = tf.range(time)[None, :] < lengths[:, None]
        words = tf.where(real, tf.pad(tokens, [[0, 0], [0, 1]])[:, :time], "")
        normalized = normalize_words_in_graph(words, lowercase=self.lowercase, digits_to_zero=self.digits_to_zero)
        characters = tf.ragged.map_flat_values(self.char_ids.lookup, tf.strings.unicode_split(words, "UTF-8"))
        chars = characters.to_tensor(PAD, shape=tf.stack([tf.shape(words)[0], time, -1]))[:, :, :self.max_chars]
        chars = tf.pad(chars, [[0, 0], [0, 0], [0, tf.maximum(1 - tf.shape(chars)[2], 0)]])  # at least one column
        return {"words": tf.where(real, self.word_ids.lookup(normalized), PAD), "chars": chars}


def tag_function(checkpoint: Checkpoint, *, logit_adjustment: bool = True, threshold: float | None = None):
    """(serving function, the `TokenEncoder` it reads with) of `checkpoint`: tokens (batch, time)
    strings and lengths (batch,) -> {"tags": (batch, time) strings}, the tags `Tagger.tag`
    gives with the same options (`threshold` None: the checkpoint's)."""
    vocab, info, model = checkpoint.vocab, checkpoint.info, checkpoint.model
    encoder = TokenEncoder(vocab, max_chars=info.max_chars)
    decoding = {"crf_scores": model.get_layer("crf").numpy_scores() if has_crf(model) else None,
                "logit_shift": checkpoint.logit_shift if logit_adjustment else None,
                "multi_label": vocab.multi_label, "threshold": info.threshold if threshold is None else threshold}

    def tag(tokens, lengths):
        width = tf.shape(tokens, out_type=tf.int32)[1]
        tf.debugging.assert_less_equal(lengths, width, message="a length is larger than the tokens' time dimension")
        outputs = model(encoder(tokens, lengths), training=False)
        tags = tags_in_graph(outputs, lengths, vocab.tag_names, **decoding)
        return {"tags": tf.pad(tags, [[0, 0], [0, tf.maximum(width - tf.shape(tags)[1], 0)]])[:, :width]}

    return tag, encoder


def export_checkpoint(checkpoint: Checkpoint, output_dir: str | Path, *, logit_adjustment: bool = True,
                      threshold: float | None = None) -> Path:
    """Write `checkpoint` as a SavedModel into `output_dir` (see the module's docstring); return its path."""
    tag, encoder = tag_function(checkpoint, logit_adjustment=logit_adjustment, threshold=threshold)
    archive = keras.export.ExportArchive()
    archive.track(checkpoint.model)
    archive.track(encoder)
    archive.add_endpoint("serve", tag, input_signature=SIGNATURE)
    archive.write_out(str(output_dir), verbose=False)
    return Path(output_dir)
