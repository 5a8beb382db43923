"""tagger: sequence labelling under class imbalance."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the console

__version__ = "0.1.0"
