"""fitting.compile_model: a compiled model whose training step TensorFlow traces once."""

import keras
import numpy as np

from tagger.fitting import compile_model
from tagger.optim import make_optimizer


class CountsTraces(keras.Sequential):
    """A model that counts the Python calls of its training step: TensorFlow makes one per trace."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.traces = []

    def train_step(self, data):
        self.traces.append(1)
        return super().train_step(data)


def test_the_training_step_is_traced_once():
    model = CountsTraces([keras.Input((2,)), keras.layers.Dense(1)])
    compile_model(model, keras.losses.MeanSquaredError(), make_optimizer("sgd", 0.1, momentum=0.9))
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    assert len(model.traces) == 1  # Keras 3 alone makes the momentum inside the first step: two traces


def test_without_it_keras_traces_twice():
    # the reason for compile_model's optimizer.build: if Keras stops doing this, the build can go
    model = CountsTraces([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=make_optimizer("sgd", 0.1, momentum=0.9), loss=keras.losses.MeanSquaredError())
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    assert len(model.traces) == 2
