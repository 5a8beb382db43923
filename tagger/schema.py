"""Typed schemas of every config group, registered in Hydra's ConfigStore.

A misspelt key or a value of the wrong type or choice fails when Hydra composes the config,
with Hydra's own message, before anything is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from tagger.data.datasets import SYNTHETIC_PRIORS
from tagger.options import (AUTO, CHAR_ENCODERS, CRF_WEIGHTINGS, HEADS, INPUT_FORMATS, LOSSES, MONITORS, OPTIMIZERS,
                            OUTPUT_BIASES, PREDICT_BATCH_SIZE, STRATEGIES, TAG_SCHEMES, UNKNOWN_LABELS,
                            WEIGHTING_SCHEMES)


def _choices(name: str, values) -> type[Enum]:
    """A config enum whose members are `values` (member name = value)."""
    return Enum(name, {value: value for value in values}, module=__name__, qualname=name)


Scheme = _choices("Scheme", WEIGHTING_SCHEMES)
Head = _choices("Head", (AUTO, *HEADS))
CRFWeighting = _choices("CRFWeighting", CRF_WEIGHTINGS)
CharEncoderKind = _choices("CharEncoderKind", CHAR_ENCODERS)
OutputBias = _choices("OutputBias", OUTPUT_BIASES)
Strategy = _choices("Strategy", STRATEGIES)
InputFormat = _choices("InputFormat", INPUT_FORMATS)
UnknownLabels = _choices("UnknownLabels", UNKNOWN_LABELS)
LossName = _choices("LossName", LOSSES)
Monitor = _choices("Monitor", (AUTO, *MONITORS))
Optimizer = _choices("Optimizer", OPTIMIZERS)
TagScheme = _choices("TagScheme", TAG_SCHEMES)


@dataclass
class DataConfig:
    name: str = MISSING
    lowercase: bool = True  # lowercase words for the word vocabulary (characters keep their case)
    min_freq: int = 1  # words seen fewer times in train map to UNK
    max_len: Optional[int] = 128  # split training sentences longer than this into pieces (with a warning); null: never
    max_chars: Optional[int] = 30  # cut words longer than this for the character encoder (with a warning)
    multi_label: bool = False  # tags are label sets joined by | (O: none); sigmoid output, weighted BCE
    digits_to_zero: bool = True  # read every digit as 0 for the word vocabulary (characters keep them)
    tag_scheme: TagScheme = TagScheme.auto  # auto: IOB2 span tags trained as IOBES, written back as IOB2; as_read
    streaming: bool = False  # data=conll: read the training file in passes, train from shards on disk (not in memory)
    shard_sentences: int = 10000  # streaming: sentences per shard, the window that is shuffled and bucketed


@dataclass
class HironsanData(DataConfig):
    name: str = "hironsan"


@dataclass
class FilesData(DataConfig):
    name: str = "conll"
    train: Optional[str] = None  # required for training
    dev: Optional[str] = None  # null: hold out dev_fraction of train, chosen with split_seed
    test: Optional[str] = None
    format: str = "auto"  # auto (from the suffix: .conllu, .csv, .tsv, else CoNLL), conll, conllu, csv
    token_column: int = 0  # CoNLL columns, 0-based; negative counts from the end
    tag_column: int = -1
    strict_columns: bool = True  # CoNLL: every line has as many columns as the first
    tag_field: str = "upos"  # CoNLL-U: upos or xpos
    sentence_header: str = "Sentence #"  # CSV/TSV column names
    token_header: str = "Word"
    tag_header: str = "Tag"
    weight_header: Optional[str] = None
    separator: Optional[str] = None  # CSV/TSV: default tab for .tsv, comma otherwise
    dev_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class SyntheticData(DataConfig):
    name: str = "synthetic"
    num_sentences: int = 3000
    max_sentence_length: int = 150
    max_word_length: int = 15
    class_priors: List[float] = field(default_factory=lambda: list(SYNTHETIC_PRIORS))
    seed: int = 0


@dataclass
class ModelConfig:
    word_embedding_dim: int = 100
    char_encoder: CharEncoderKind = CharEncoderKind.lstm
    char_embedding_dim: int = 25
    char_hidden_dim: int = 25  # per direction, lstm encoder
    char_filters: int = 50  # cnn encoder
    char_kernel_size: int = 3
    hidden_dim: int = 100  # per direction
    layers: int = 1
    dropout_rate: float = 0.5
    variational_dropout: bool = False  # one dropout mask per sentence for all its positions (Gal and Ghahramani 2016)
    casing: bool = False  # each word's casing (all lower, all upper, initial upper, numeric, ...) as a one-hot feature
    lm_vocab: int = 0  # > 0: Rei (2017)'s auxiliary loss, each direction predicts the next/previous word of this many
    lm_weight: float = 0.1  # the auxiliary language-modelling loss's weight
    output_bias: OutputBias = OutputBias.prior  # prior: b_c = ln f_c
    head: Head = Head.auto  # auto: crf for IOB/IOB2/IOBES span labels, softmax otherwise
    threshold: float = 0.5  # multi-label: a label is predicted when its probability reaches this
    # forbid transitions that break IOB2/IOBES spans (O -> I-X, B-X -> I-Y); null: on for a CRF over span labels
    crf_constraints: Optional[bool] = None
    crf_weighting: CRFWeighting = CRFWeighting.sentence
    pretrained_embeddings: Optional[str] = None  # GloVe/word2vec text or word2vec .bin; sets the word dimension
    freeze_embeddings: bool = False


@dataclass
class WeightingConfig:
    scheme: Scheme = Scheme.none
    beta: float = 0.999  # effective_number
    mu: float = 0.15  # log
    custom: Dict[str, float] = field(default_factory=dict)  # scheme custom: label -> weight
    ignore: List[str] = field(default_factory=list)  # labels with weight 0
    normalize: bool = True  # mean weight over training tokens = 1
    max_weight: Optional[float] = None  # clip, after normalising


@dataclass
class LossConfig:
    name: LossName = LossName.crossentropy
    gamma: float = 2.0  # focal only


@dataclass
class TrainerConfig:
    epochs: int = 50
    batch_size: int = 16
    optimizer: Optimizer = Optimizer.adam
    learning_rate: float = 0.001
    momentum: float = 0.9  # sgd
    lr_decay: float = 0.0  # the rate of epoch e (0-based) is learning_rate / (1 + lr_decay x e)
    anneal_patience: Optional[int] = None  # x anneal_factor after this many epochs without improvement; null: never
    anneal_factor: float = 0.5
    min_learning_rate: float = 0.0  # stop once annealing would take the rate below this
    weight_decay: Optional[float] = None  # decoupled weight decay
    clipnorm: Optional[float] = 5.0
    average: Optional[float] = None  # score and keep a moving average of the weights, this momentum per step; null: off
    singleton_unk: float = 0.5  # read a training word seen once as <unk> with this probability, anew each epoch
    word_dropout: float = 0.05  # read any training word as <unk> with this probability, anew each epoch
    max_time: Optional[float] = None  # seconds: stop after the epoch that crosses this much training time
    patience: Optional[int] = 8  # epochs without improvement of `monitor` before stopping; null: never stop early
    monitor: Monitor = Monitor.auto  # auto: val_entity_f1 for span labels, val_macro_f1 otherwise
    bucketing: bool = True  # batch sentences of similar length together
    eval_batch_size: int = PREDICT_BATCH_SIZE  # validation loss and dev scores
    verbose: int = 2  # Keras fit: 0 silent, 1 progress bar, 2 one line per epoch
    deterministic: bool = True  # TensorFlow op determinism: same seed, same numbers (on CPU)
    mixed_precision: bool = False  # float16 compute, float32 softmax and loss: for GPUs (slower on CPUs)
    strategy: Strategy = Strategy.default
    jit_compile: bool = False  # XLA-compile the training step
    threads: Optional[int] = None  # TensorFlow intra- and inter-op threads; null: TensorFlow's choice
    logit_adjustment: bool = False  # after training, tune tau of ln p - tau ln prior on dev (Menon et al. 2021)
    tensorboard: bool = False  # write TensorBoard logs (losses, dev scores, each label's dev F1) into tensorboard/


@dataclass
class TrainConfig:
    seed: int = 0
    data: DataConfig = MISSING
    model: ModelConfig = MISSING
    weighting: WeightingConfig = MISSING
    loss: LossConfig = MISSING
    trainer: TrainerConfig = MISSING


@dataclass
class EvaluateConfig:
    checkpoint: str = MISSING  # a checkpoint directory or a training run directory
    data: Optional[DataConfig] = None  # null: the data the checkpoint was trained on (its config.yaml)
    split: str = "test"  # which split of `data` to score: train, dev or test
    unknown_labels: UnknownLabels = UnknownLabels.error
    entity_strict: bool = False  # entity spans by strict IOB2/IOBES rules instead of conlleval's
    logit_adjustment: bool = True  # apply the checkpoint's tuned logit adjustment, if it has one
    threshold: Optional[float] = None  # multi-label decision threshold; null: the checkpoint's model.threshold
    batch_size: int = PREDICT_BATCH_SIZE


@dataclass
class PredictConfig:
    checkpoint: str = MISSING
    input: str = "-"  # a file, or - for standard input
    output: str = "-"  # a file, or - for standard output
    input_format: InputFormat = InputFormat.conll
    output_probs: bool = False  # add the probability of the chosen tag as a third column
    logit_adjustment: bool = True  # apply the checkpoint's tuned logit adjustment, if it has one
    threshold: Optional[float] = None  # multi-label decision threshold; null: the checkpoint's model.threshold
    batch_size: int = PREDICT_BATCH_SIZE


@dataclass
class ExportConfig:
    checkpoint: str = MISSING  # a checkpoint directory or a training run directory
    output: str = MISSING  # the SavedModel's directory: new, or empty
    logit_adjustment: bool = True  # apply the checkpoint's tuned logit adjustment, if it has one
    threshold: Optional[float] = None  # multi-label decision threshold; null: the checkpoint's model.threshold


def plain(group: DictConfig) -> dict:
    """A config group as plain values (choices as their names), e.g. keyword arguments of the stage it
    configures.

    >>> plain(OmegaConf.structured(LossConfig))
    {'name': 'crossentropy', 'gamma': 2.0}
    """
    return OmegaConf.to_container(group, resolve=True, enum_to_str=True)


def layer_options(model: DictConfig) -> dict:
    """The model group's sizes, dropout and embedding options as keyword arguments of `model.build_tagger`."""
    kept = ("word_embedding_dim", "char_encoder", "char_embedding_dim", "char_hidden_dim", "char_filters",
            "char_kernel_size", "hidden_dim", "layers", "dropout_rate", "variational_dropout", "freeze_embeddings",
            "casing", "lm_vocab", "lm_weight")
    return {"num_layers" if key == "layers" else key: value for key, value in plain(model).items() if key in kept}


def optimizer_options(trainer: DictConfig) -> dict:
    """The trainer group's optimizer choice as keyword arguments of `optim.make_optimizer`."""
    t = plain(trainer)
    return {"name": t["optimizer"], **{key: t[key] for key in ("learning_rate", "momentum", "clipnorm", "weight_decay",
                                                          "average")}}


def schedule_options(trainer: DictConfig) -> dict:
    """The trainer group's learning-rate schedule and time budget as keyword arguments of `optim.Schedule`."""
    t = plain(trainer)
    return {"decay": t["lr_decay"], **{key: t[key] for key in ("learning_rate", "anneal_factor", "anneal_patience",
                                                                "min_learning_rate", "max_time")}}


def loader_options(data: DictConfig) -> dict:
    """The data group's options for `load_splits`, without the vocabulary and encoding options."""
    encoding = {f.name for f in dataclasses.fields(DataConfig)} - {"name"}
    return {key: value for key, value in OmegaConf.to_container(data).items() if key not in encoding}


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="evaluate_schema", node=EvaluateConfig)
    store.store(name="predict_schema", node=PredictConfig)
    store.store(name="export_schema", node=ExportConfig)
    for name, node in (("hironsan", HironsanData), ("files", FilesData), ("synthetic", SyntheticData)):
        store.store(group="data", name=f"{name}_schema", node=node)
    store.store(group="model", name="schema", node=ModelConfig)
    store.store(group="weighting", name="schema", node=WeightingConfig)
    store.store(group="loss", name="schema", node=LossConfig)
    store.store(group="trainer", name="schema", node=TrainerConfig)
