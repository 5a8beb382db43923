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


def traces_of_a_fit(compile) -> int:
    """How often TensorFlow traces the training step of 2 epochs of a model compiled by `compile`."""
    model = CountsTraces([keras.Input((2,)), keras.layers.Dense(1)])
    compile(model, keras.losses.MeanSquaredError(), make_optimizer("sgd", 0.1, momentum=0.9))
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    return len(model.traces)


def test_the_training_step_is_traced_once():
    assert traces_of_a_fit(compile_model) == 1


def test_keras_alone_traces_it_twice():
    # it makes the momentum inside the first step, so that step is traced again; the day Keras stops, the
    # optimizer.build in compile_model can go
    assert traces_of_a_fit(lambda model, loss, optimizer: model.compile(optimizer=optimizer, loss=loss)) == 2
