"""Behaviour of mininet_tf.losses on hand-computed cases, plus .keras save/load round-trip."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mininet_tf import losses as L
from mininet_tf.metrics import Dice, IoU, Sensitivity, Specificity

# A 2x2 image: truth [[1, 1], [0, 0]], prediction [[0.9, 0.5], [0.2, 0.0]].
#   I = 0.9 + 0.5 = 1.4, T = 2, P = 1.6
#   dice    = 1 - (2 * 1.4 + 1) / (2 + 1.6 + 1)       = 1 - 3.8 / 4.6 = 4 / 23
#   jaccard = 1 - (1.4 + 1) / (2 + 1.6 - 1.4 + 1)     = 1 - 2.4 / 3.2 = 1 / 4
#   bce     = -(ln 0.9 + ln 0.5 + ln 0.8 + ln 1) / 4
Y_2X2 = np.array([[1, 1], [0, 0]], np.float32).reshape(1, 2, 2, 1)
P_2X2 = np.array([[0.9, 0.5], [0.2, 0.0]], np.float32).reshape(1, 2, 2, 1)
DICE_2X2 = 4 / 23
JACCARD_2X2 = 1 / 4
BCE_2X2 = -(math.log(0.9) + math.log(0.5) + math.log(0.8)) / 4


def _f(x) -> float:
    return float(keras.ops.convert_to_numpy(x))


def test_hand_computed_2x2_each_loss():
    assert _f(L.dice_loss(Y_2X2, P_2X2)) == pytest.approx(DICE_2X2, abs=1e-6)
    assert _f(L.jaccard_loss(Y_2X2, P_2X2)) == pytest.approx(JACCARD_2X2, abs=1e-6)
    assert _f(L.bce_loss(Y_2X2, P_2X2)) == pytest.approx(BCE_2X2, abs=1e-6)
    # smooth=0: dice = 1 - 2.8 / 3.6 = 2 / 9, jaccard = 1 - 1.4 / 2.2 = 4 / 11
    assert _f(L.dice_loss(Y_2X2, P_2X2, smooth=0.0)) == pytest.approx(2 / 9, abs=1e-6)
    assert _f(L.jaccard_loss(Y_2X2, P_2X2, smooth=0.0)) == pytest.approx(4 / 11, abs=1e-6)


def test_hand_computed_combined_with_given_weights():
    loss = L.CombinedLoss(alpha=0.5, beta=0.3, gamma=0.2)
    expected = 0.5 * DICE_2X2 + 0.3 * JACCARD_2X2 + 0.2 * BCE_2X2
    assert _f(loss(Y_2X2, P_2X2)) == pytest.approx(expected, abs=1e-6)
    # from_alpha(a) = a * (dice + jaccard) / 2 + (1 - a) * bce
    a = 0.8
    expected = a * (DICE_2X2 + JACCARD_2X2) / 2 + (1 - a) * BCE_2X2
    assert _f(L.combined_loss(a)(Y_2X2, P_2X2)) == pytest.approx(expected, abs=1e-6)
    assert _f(L.CombinedLoss.from_alpha(a)(Y_2X2, P_2X2)) == pytest.approx(expected, abs=1e-6)


def test_defaults_are_from_alpha_half():
    loss = L.CombinedLoss()
    assert (loss.alpha, loss.beta, loss.gamma) == (0.25, 0.25, 0.5)
    assert L.alpha_weights(0.5) == (0.25, 0.25, 0.5)
    assert L.alpha_weights(1.0) == (0.5, 0.5, 0.0)
    assert L.alpha_weights(0.0) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        L.alpha_weights(1.5)
    with pytest.raises(ValueError):
        L.CombinedLoss(alpha=-1.0)


def test_per_image_then_batch_mean():
    # Batch = [2x2 case, perfect prediction]: the mean of per-image losses, not a pooled loss.
    y = np.concatenate([Y_2X2, Y_2X2])
    p = np.concatenate([P_2X2, Y_2X2])
    assert _f(L.dice_loss(y, p)) == pytest.approx(DICE_2X2 / 2, abs=1e-6)
    assert _f(L.jaccard_loss(y, p)) == pytest.approx(JACCARD_2X2 / 2, abs=1e-6)
    per = keras.ops.convert_to_numpy(L.per_image_dice(y, p))
    np.testing.assert_allclose(per, [DICE_2X2, 0.0], atol=1e-6)
    # y_true without the channel axis is accepted
    assert _f(L.dice_loss(y[..., 0], p)) == pytest.approx(DICE_2X2 / 2, abs=1e-6)
    # CombinedLoss honours sample_weight through the Keras reduction
    loss = L.CombinedLoss(alpha=1.0, beta=0.0, gamma=0.0)
    assert _f(loss(y, p, sample_weight=np.array([1.0, 0.0]))) == pytest.approx(
        DICE_2X2 / 2, abs=1e-6
    )


def test_perfect_and_completely_wrong():
    rng = np.random.default_rng(0)
    y = (rng.random((2, 64, 64, 1)) < 0.3).astype(np.float32)
    assert _f(L.dice_loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    assert _f(L.jaccard_loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    assert _f(L.bce_loss(y, y)) == pytest.approx(0.0, abs=1e-5)
    wrong = 1.0 - y
    assert _f(L.dice_loss(y, wrong)) == pytest.approx(1.0, abs=1e-3)
    assert _f(L.jaccard_loss(y, wrong)) == pytest.approx(1.0, abs=1e-3)
    # saturated: each pixel costs ~ -log(epsilon) ~ 16.1 (1 - 1e-7 rounds in float32, so ~15.9
    # on the y = 0 side): large but finite
    assert 15.5 < _f(L.bce_loss(y, wrong)) <= -math.log(1e-7) + 1e-3


def test_empty_truth_and_empty_prediction_is_zero_and_finite():
    y = np.zeros((2, 8, 8, 1), np.float32)
    for fn in (L.dice_loss, L.jaccard_loss, L.bce_loss, L.CombinedLoss()):
        value = _f(fn(y, y))
        assert math.isfinite(value)
        assert value == pytest.approx(0.0, abs=1e-6)
    assert _f(L.dice_loss(y, y)) == 0.0
    assert _f(L.jaccard_loss(y, y)) == 0.0
    # empty truth, full prediction: dice = 1 - 1 / (64 + 1)
    assert _f(L.dice_loss(y, np.ones_like(y))) == pytest.approx(64 / 65, abs=1e-6)


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_gradient_finite_on_saturated_predictions(fill):
    y = np.zeros((2, 8, 8, 1), np.float32)
    p = tf.Variable(np.full((2, 8, 8, 1), fill, np.float32))
    for fn in (L.dice_loss, L.jaccard_loss, L.bce_loss, L.CombinedLoss()):
        with tf.GradientTape() as tape:
            value = fn(y, p)
        grad = tape.gradient(value, p).numpy()
        assert np.all(np.isfinite(grad)), fn
        assert math.isfinite(float(value))


def test_get_config_round_trip():
    loss = L.CombinedLoss(alpha=0.1, beta=0.2, gamma=0.7, smooth=2.0, epsilon=1e-6, name="x")
    config = loss.get_config()
    assert {k: config[k] for k in ("alpha", "beta", "gamma", "smooth", "epsilon", "name")} == {
        "alpha": 0.1,
        "beta": 0.2,
        "gamma": 0.7,
        "smooth": 2.0,
        "epsilon": 1e-6,
        "name": "x",
    }
    clone = L.CombinedLoss.from_config(config)
    assert clone.get_config() == config
    assert _f(clone(Y_2X2, P_2X2)) == pytest.approx(_f(loss(Y_2X2, P_2X2)), abs=1e-7)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, L.CombinedLoss) and restored.get_config() == config


def test_model_saves_and_loads_without_custom_objects(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((8, 8, 8, 1)).astype(np.float32)
    y = (x > 0.6).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")]
    )
    model.compile(
        optimizer="adam",
        loss=L.CombinedLoss(alpha=0.4, beta=0.1, gamma=0.5),
        metrics=[Dice(), IoU(), Sensitivity(), Specificity(threshold=0.4)],
    )
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    before = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    path = tmp_path / "tiny.keras"
    model.save(path)

    loaded = keras.models.load_model(path)
    after = loaded.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert set(after) == set(before) == {"loss", "dice", "iou", "sensitivity", "specificity"}
    for key, value in before.items():
        assert after[key] == pytest.approx(value, abs=1e-6), key
    assert isinstance(loaded.loss, L.CombinedLoss)
    assert (loaded.loss.alpha, loaded.loss.beta, loaded.loss.gamma) == (0.4, 0.1, 0.5)
    # the loss value equals the loss function applied to the predictions
    direct = _f(L.CombinedLoss(alpha=0.4, beta=0.1, gamma=0.5)(y, loaded.predict(x, verbose=0)))
    assert after["loss"] == pytest.approx(direct, abs=1e-5)
