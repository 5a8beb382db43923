import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from tagger.schema import layer_options

WEIGHTINGS = ["none", "balanced", "inverse", "inverse_sqrt", "log", "median_frequency", "effective_number", "custom"]


def test_default_config(compose):
    cfg = compose()
    assert cfg.data.name == "hironsan"
    assert cfg.model.char_encoder.value == "lstm" and cfg.model.output_bias.value == "prior"
    # chosen from the labels at the start of training: CRF + entity F1 for spans, softmax + macro-F1 otherwise
    assert cfg.trainer.monitor.value == "auto" and cfg.model.head.value == "auto" and cfg.model.crf_constraints is None
    assert cfg.weighting.scheme.value == "none" and cfg.trainer.epochs == 50
    # the word lookup: lowercased, digits read as 0 (characters keep both); measured in the README
    assert cfg.data.lowercase is True and cfg.data.digits_to_zero is True
    # the casing feature: no difference measured with the lowercase lookup (README), so off
    assert cfg.model.casing is False
    assert layer_options(compose(["model.casing=true"]).model)["casing"] is True


@pytest.mark.parametrize("option", WEIGHTINGS)
def test_every_weighting_option_composes(compose, option):
    assert compose([f"weighting={option}"]).weighting.scheme.value == option


def test_overrides_reach_the_typed_fields(compose):
    cfg = compose(["data=conll", "data.train=a.conll", "model.char_encoder=cnn", "loss=focal", "loss.gamma=1",
                   "weighting=custom", "+weighting.custom.B-PER=5", "trainer.patience=null"])
    assert (cfg.data.train, cfg.model.char_encoder.value, cfg.loss.gamma) == ("a.conll", "cnn", 1.0)
    assert dict(cfg.weighting.custom) == {"B-PER": 5.0} and cfg.trainer.patience is None


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (["data.trian=x"], ConfigCompositionException, "Could not override 'data.trian'"),
        (["weighting=balancd"], ConfigCompositionException, "Could not find 'weighting/balancd'"),
        (["weighting.scheme=balancd"], ConfigCompositionException, "Invalid value 'balancd'"),
        (["trainer.epochs=many"], ConfigCompositionException, "Value 'many' of type 'str' could not be converted"),
        (["weighting=custom", "+weighting.custom.B-PER=five"], ConfigCompositionException, "could not be converted"),
    ],
)
def test_typos_fail_at_composition_with_hydras_message(compose, overrides, error, message):
    with pytest.raises(error) as raised:
        compose(overrides)
    chain = f"{raised.value} {raised.value.__cause__}"
    assert message in chain, chain


def test_validation_error_type_is_omegaconfs(compose):
    with pytest.raises(ConfigCompositionException) as raised:
        compose(["model.layers=two"])
    assert isinstance(raised.value.__cause__, ValidationError)


def compose_with_hydra(overrides):
    from hydra import compose, initialize_config_dir

    from tagger.schema import register_configs
    from tests.conftest import CONFIGS

    register_configs()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize("sweep, params", [
    ("weighting", {"weighting": "none,balanced,inverse_sqrt,median_frequency,effective_number", "seed": "0,1,2"}),
    ("loss", {"loss": "crossentropy,focal", "model.output_bias": "prior,zeros", "seed": "0,1,2"}),
    ("smoke", {"weighting": "none,balanced", "seed": "0,1"}),
])
def test_ready_sweeps_are_multiruns(sweep, params):
    cfg = compose_with_hydra([f"sweep={sweep}"])
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert dict(cfg.hydra.sweeper.params) == params
    assert cfg.hydra.callbacks.sweep_summary._target_ == "tagger.summarize.SweepSummary"


def test_optuna_search_composes():
    cfg = compose_with_hydra(["hparams_search=optuna"])
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert set(cfg.hydra.sweeper.params) == {"trainer.learning_rate", "model.dropout_rate", "weighting",
                                             "weighting.beta", "weighting.max_weight"}


@pytest.mark.parametrize("launcher, target", [("joblib", "JoblibLauncher"), ("slurm", "SlurmLauncher")])
def test_launcher_configs_compose(launcher, target):
    cfg = compose_with_hydra([f"hydra/launcher={launcher}"])
    assert cfg.hydra.launcher._target_.endswith(target)
    if launcher == "slurm":
        assert cfg.hydra.launcher.cpus_per_task == 4 and cfg.hydra.launcher.timeout_min == 120


def test_ray_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="hydra-ray-launcher is not installed")
    cfg = compose_with_hydra(["hydra/launcher=ray_cluster"])
    assert cfg.hydra.launcher.ray.init.address == "auto"


def test_ray_launcher_config_file():
    """Without the plugin installed, at least the shipped file must say what the README promises."""
    from omegaconf import OmegaConf

    from tests.conftest import CONFIGS

    config = OmegaConf.load(CONFIGS / "hydra" / "launcher" / "ray_cluster.yaml")
    assert list(config.defaults) == ["ray"] and config.ray.init.address == "auto"


def test_sgd_trainer_preset_is_ncrfpp_schedule(compose):
    t = compose(["trainer=sgd"]).trainer
    assert (t.optimizer.value, t.momentum, t.learning_rate, t.lr_decay, t.batch_size) == ("sgd", 0.9, 0.2, 0.05, 10)
