import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

WEIGHTINGS = ["none", "balanced", "inverse", "inverse_sqrt", "log", "median_frequency", "effective_number", "custom"]


def test_default_config(compose):
    cfg = compose()
    assert cfg.data.name == "hironsan"
    assert cfg.model.char_encoder.value == "lstm" and cfg.model.output_bias.value == "prior"
    assert cfg.trainer.monitor.value == "val_macro_f1"
    assert cfg.weighting.scheme.value == "inverse_sqrt" and cfg.trainer.epochs == 50


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
