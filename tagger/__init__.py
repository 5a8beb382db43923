"""tagger: sequence labelling under class imbalance."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter off the console
# TensorFlow's oneDNN kernels made training ~20 % slower here (2-core x86 CPU, see README) and log
# warnings on every start; set TF_ENABLE_ONEDNN_OPTS=1 to use them.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
