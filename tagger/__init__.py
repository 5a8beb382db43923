"""tagger: sequence labelling under class imbalance."""

import os

# TensorFlow's C++ log lines (oneDNN notices, graph attribute chatter) stay off the console; errors
# still raise Python exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# oneDNN kernels: about 20 % faster training and 40 % faster prediction here (2-core x86 CPU, see
# README); set TF_ENABLE_ONEDNN_OPTS=0 to turn them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _import_tensorflow() -> None:
    """Import TensorFlow once, with file descriptor 2 pointed at /dev/null unless its C++ logs
    are asked for: its start-up notice is printed before TF_CPP_MIN_LOG_LEVEL applies."""
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0":
        import tensorflow  # noqa: F401
        return
    stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)


_import_tensorflow()

__version__ = "0.1.0"
