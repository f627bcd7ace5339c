"""Shipped pretrained models: they load, carry complete cards, and reproduce their figures."""

import pytest

import mininet_tf
from mininet_tf.zoo import NAMES, PRETRAINED_DIR

from .conftest import shared_data_dir

SHIPPED = sorted(p.stem.removeprefix("mininet_") for p in PRETRAINED_DIR.glob("*.keras"))
DATA_FOLDERS = {"drive": "DRIVE", "ph2": "PH2", "isic2017": "ISIC2017", "monuseg": "MoNuSeg"}


def test_every_dataset_has_a_shipped_model():
    assert SHIPPED == sorted(NAMES)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_with_its_card(name):
    model = mininet_tf.load_pretrained(name)
    card = mininet_tf.pretrained_card(name)
    assert model.count_params() == card["parameters"]["total"]
    assert 0.0 < card["threshold"] < 1.0
    assert card["input_policy"]["mode"] in ("tile", "resize")
    assert card["dataset"] == name
    assert "validation" in card["threshold_selected_on"]
    assert mininet_tf.load_pretrained_segmenter(name).threshold == card["threshold"]


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="shipped"):
        mininet_tf.load_pretrained("stare")


@pytest.mark.shared_data
@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_recorded_test_figures(name):
    from mininet_tf.evaluate import evaluate

    data_dir = shared_data_dir() / DATA_FOLDERS[name]
    if not data_dir.is_dir():
        pytest.skip(f"real data not found at {data_dir} (set MININET_DATA_DIR)")
    card = mininet_tf.pretrained_card(name)
    result = evaluate(mininet_tf.pretrained_path(name), name, data_dir, "test")
    for agg in ("pooled", "per_image"):
        for key, value in card["benchmark"]["test"][agg].items():
            assert result[agg][key] == pytest.approx(value, abs=1e-4), (agg, key)
