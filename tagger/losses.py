"""Token-level losses whose scale does not depend on how much padding a batch has, and the choice
of a model's loss (`loss_for`)."""

from __future__ import annotations

import keras
from keras import ops

from tagger.crf import CRFLoss
from tagger.distribute import summed_over_replicas
from tagger.options import LOSSES, MULTI_LABEL_HEAD


@keras.saving.register_keras_serializable(package="tagger")
class TokenLoss(keras.losses.Loss):
    """Cross-entropy (`gamma=0`) or focal loss (`gamma>0`, Lin et al. 2017) per token, averaged over real tokens.

    The batch loss is sum(w * loss) / (number of real tokens), where w is the temporal sample
    weight and a real token is one whose label is not negative (padding has label -1). Keras'
    default reduction would divide by every position, padding included, so the same sentences
    would get a smaller loss in a batch padded further. Under a tf.distribute strategy the token
    count is that of the global batch. Predictions are probabilities (softmax).
    """

    def __init__(self, gamma: float = 0.0, name: str = "token_loss", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        if gamma < 0:
            raise ValueError(f"focal gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)

    def call(self, y_true, y_pred):
        labels = ops.cast(y_true, "int32")
        real = ops.cast(labels >= 0, y_pred.dtype)
        safe_labels = ops.maximum(labels, 0)
        if self.gamma == 0:
            losses = keras.losses.sparse_categorical_crossentropy(safe_labels, y_pred)
        else:
            one_hot = ops.one_hot(safe_labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
            losses = keras.losses.categorical_focal_crossentropy(one_hot, y_pred, alpha=1.0, gamma=self.gamma)
        return losses * real / ops.maximum(summed_over_replicas(ops.sum(real)), 1.0)

    def get_config(self):
        return {"name": self.name, "gamma": self.gamma}


@keras.saving.register_keras_serializable(package="tagger")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Multi-hot targets: per label c, -(w_pos[c] y log p + w_neg[c] (1 - y) log(1 - p)), summed over
    labels and averaged over real tokens (as `TokenLoss`). Targets are -1 on padding; predictions
    are sigmoid probabilities. With w_neg = 1 this is `tf.nn.weighted_cross_entropy_with_logits`.
    """

    def __init__(self, positive_weights, negative_weights, name: str = "weighted_bce", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        self.positive_weights = [float(w) for w in positive_weights]
        self.negative_weights = [float(w) for w in negative_weights]

    def call(self, y_true, y_pred):
        real = ops.cast(y_true[..., 0] >= 0, y_pred.dtype)
        targets = ops.maximum(ops.cast(y_true, y_pred.dtype), 0.0)
        p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
        positive, negative = (ops.convert_to_tensor(w, y_pred.dtype) for w in (self.positive_weights, self.negative_weights))
        losses = -ops.sum(positive * targets * ops.log(p) + negative * (1.0 - targets) * ops.log(1.0 - p), axis=-1)
        return losses * real / ops.maximum(summed_over_replicas(ops.sum(real)), 1.0)

    def get_config(self):
        return {"name": self.name, "positive_weights": self.positive_weights,
                "negative_weights": self.negative_weights}


def loss_for(head: str, model: keras.Model | None = None, *, loss: str = "crossentropy", gamma: float = 2.0,
             crf_weighting: str = "sentence", positive_weights=None, negative_weights=None) -> keras.losses.Loss:
    """The training loss of a model with output `head`: the CRF's weighted negative log-likelihood
    (over the transitions of `model`'s CRF layer, weighted as `crf_weighting` says); for the sigmoids
    of multi-label tags, the weighted binary cross-entropy; for a softmax, token cross-entropy or,
    with `loss="focal"`, focal loss of exponent `gamma`."""
    if head == "crf":
        return CRFLoss(model.get_layer("crf"), crf_weighting)
    if head == MULTI_LABEL_HEAD:
        return WeightedBinaryCrossentropy(positive_weights, negative_weights)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return TokenLoss(gamma if loss == "focal" else 0.0)
