"""Behaviour of mininet_tf.metrics on hand-computed cases, vs scikit-learn and Keras metrics."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef, roc_auc_score

from mininet_tf import metrics as M

# 3x4 image. Threshold 0.5 -> prediction
#   truth          prob                    pred (>= 0.5)
#   1 1 0 0        0.9  0.4  0.6  0.1      1 0 1 0
#   1 0 0 0        0.7  0.2  0.5  0.0      1 0 1 0
#   0 0 0 1        0.3  0.8  0.1  0.55     0 1 0 1
# tp = (0,0) (1,0) (2,3) = 3, fn = (0,1) = 1, fp = (0,2) (1,2) (2,1) = 3, tn = 12 - 7 = 5
TRUTH = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], np.uint8)
PROB = np.array([[0.9, 0.4, 0.6, 0.1], [0.7, 0.2, 0.5, 0.0], [0.3, 0.8, 0.1, 0.55]])


def test_confusion_hand_counted():
    c = M.confusion(TRUTH, PROB)
    assert tuple(c) == (3, 3, 1, 5)
    assert (c.tp, c.fp, c.fn, c.tn) == (3, 3, 1, 5)
    assert all(isinstance(v, np.int64) for v in c)
    # (H, W, 1) probability maps and bool truth mix with (H, W)
    assert tuple(M.confusion(TRUTH.astype(bool), PROB[..., None])) == (3, 3, 1, 5)


def test_every_score_hand_computed():
    s = M.scores_from_confusion(3, 3, 1, 5)
    assert s["sensitivity"] == pytest.approx(3 / 4)
    assert s["specificity"] == pytest.approx(5 / 8)
    assert s["accuracy"] == pytest.approx(8 / 12)
    assert s["precision"] == pytest.approx(3 / 6)
    assert s["f1"] == pytest.approx(6 / 10)
    assert s["dice"] == s["f1"]
    assert s["iou"] == pytest.approx(3 / 7)
    # mcc = (3*5 - 3*1) / sqrt(6 * 4 * 8 * 6) = 12 / sqrt(1152) = 1 / (2 sqrt 2)
    assert s["mcc"] == pytest.approx(1 / (2 * math.sqrt(2)))
    assert s["mcc"] == pytest.approx(matthews_corrcoef(TRUTH.ravel(), PROB.ravel() >= 0.5))
    assert set(s) == set(M.SCORE_KEYS)
    assert all(isinstance(v, float) for v in s.values())


def test_threshold_argument_respected():
    # >= 0.6: pred (0,0) (0,2) (1,0) (2,1) -> tp 2, fp 2, fn 2, tn 6; 0.6 itself is foreground
    assert tuple(M.confusion(TRUTH, PROB, threshold=0.6)) == (2, 2, 2, 6)
    assert tuple(M.confusion(TRUTH, PROB, threshold=0.0)) == (4, 8, 0, 0)
    assert tuple(M.confusion(TRUTH, PROB, threshold=1.0)) == (0, 0, 4, 8)
    scores = M.segmentation_scores([TRUTH], [PROB], threshold=0.6)
    assert scores["f1"] == pytest.approx(4 / 8)
    meter = M.SegmentationMeter(threshold=0.6)
    meter.add(TRUTH, PROB)
    assert meter.result()["pooled"]["tp"] == 2


def test_fov_excludes_pixels():
    fov = np.array([[255, 255, 255, 255], [255, 255, 255, 255], [0, 0, 0, 0]], np.uint8)
    # rows 0-1 only: tp (0,0) (1,0) = 2, fn (0,1) = 1, fp (0,2) (1,2) = 2, tn = 8 - 5 = 3
    assert tuple(M.confusion(TRUTH, PROB, fov=fov)) == (2, 2, 1, 3)
    assert tuple(M.confusion(TRUTH, PROB, fov=fov > 0)) == (2, 2, 1, 3)
    inside = fov > 0
    expected = roc_auc_score(TRUTH[inside], PROB[inside])
    assert M.roc_auc(TRUTH, PROB, fov=fov) == pytest.approx(expected)
    result = M.evaluate_all([TRUTH], [PROB], fovs=[fov])
    assert result["conventions"]["fov"] is True
    assert result["pooled"]["tp"] + result["pooled"]["tn"] == 5
    assert M.evaluate_all([TRUTH], [PROB])["conventions"]["fov"] is False


def _two_image_case():
    # A (1x4): perfect -> tp 2, fp 0, fn 0, tn 2
    ta = np.array([[1, 1, 0, 0]])
    pa = np.array([[0.9, 0.9, 0.1, 0.1]])
    # B (2x8): fg probs 0.9 0.8 0.3 0.2; bg probs 0.7 0.6 and ten 0.1
    #   -> tp 2, fn 2, fp 2, tn 10
    tb = np.zeros((2, 8), np.uint8)
    tb[0, :4] = 1
    pb = np.full((2, 8), 0.1)
    pb[0, :6] = [0.9, 0.8, 0.3, 0.2, 0.7, 0.6]
    return [ta, tb], [pa, pb]


def test_pooled_vs_per_image_hand_computed():
    truths, probs = _two_image_case()
    pooled = M.segmentation_scores(truths, probs, aggregate="pooled")
    per = M.segmentation_scores(truths, probs, aggregate="per_image")
    # pooled counts: tp 4, fp 2, fn 2, tn 12
    assert (pooled["tp"], pooled["fp"], pooled["fn"], pooled["tn"]) == (4, 2, 2, 12)
    assert pooled["dice"] == pytest.approx(8 / 12)
    assert pooled["iou"] == pytest.approx(4 / 8)
    assert pooled["sensitivity"] == pytest.approx(4 / 6)
    assert pooled["accuracy"] == pytest.approx(16 / 20)
    # per image: A dice 1, iou 1, sens 1; B dice 4/8, iou 2/6, sens 2/4
    assert per["dice"] == pytest.approx((1 + 0.5) / 2)
    assert per["iou"] == pytest.approx((1 + 1 / 3) / 2)
    assert per["sensitivity"] == pytest.approx((1 + 0.5) / 2)
    assert per["accuracy"] == pytest.approx((1 + 12 / 16) / 2)  # B: (2 + 10) / 16
    # AUC: A = 1; B = (12 + 12 + 10 + 10) / 48 = 44/48; pooled: fg .9 .9 .9 .8 .3 .2 vs
    # bg .7 .6 + twelve 0.1 -> (3*14 + 14 + 12 + 12) / (6 * 14) = 80 / 84
    assert per["auc"] == pytest.approx((1 + 44 / 48) / 2)
    assert pooled["auc"] == pytest.approx(80 / 84)
    flat_t = np.concatenate([t.ravel() for t in truths])
    flat_p = np.concatenate([p.ravel() for p in probs])
    assert pooled["auc"] == pytest.approx(roc_auc_score(flat_t, flat_p))
    assert pooled["n_images"] == per["n_images"] == 2
    assert per["n_defined"]["auc"] == 2
    with pytest.raises(ValueError, match="aggregate"):
        M.segmentation_scores(truths, probs, aggregate="mean")


def test_evaluate_all_structure():
    truths, probs = _two_image_case()
    result = M.evaluate_all(truths, probs, threshold=0.5)
    assert set(result) == {"pooled", "per_image", "n_images", "conventions"}
    assert result["n_images"] == 2
    conv = result["conventions"]
    assert conv["threshold"] == 0.5 and conv["foreground_only"] is True
    assert conv["pooled_auc"].startswith("exact")
    for key in (*M.SCORE_KEYS, "auc"):
        assert isinstance(result["pooled"][key], float)
        assert isinstance(result["per_image"][key], float)
    # Pooled over both images (hand count: tp 4, fp 2, fn 2, tn 12) and the per-image mean
    # (A perfect; B tp 2, fp 2, fn 2, tn 10).
    assert result["pooled"]["f1"] == pytest.approx(8 / 12)
    assert result["pooled"]["iou"] == pytest.approx(4 / 8)
    assert result["pooled"]["specificity"] == pytest.approx(12 / 14)
    assert result["per_image"]["f1"] == pytest.approx((1.0 + 4 / 8) / 2)
    assert result["per_image"]["iou"] == pytest.approx((1.0 + 2 / 6) / 2)
    assert result["per_image"]["sensitivity"] == pytest.approx((1.0 + 2 / 4) / 2)


def test_empty_mask_zero_division_conventions():
    empty = np.zeros((4, 4), np.uint8)
    # empty truth, empty prediction: tp = fp = fn = 0, tn = 16
    s = M.scores_from_confusion(*M.confusion(empty, np.full((4, 4), 0.1)))
    assert s["f1"] == s["dice"] == s["iou"] == 1.0
    assert math.isnan(s["sensitivity"]) and math.isnan(s["precision"])
    assert s["specificity"] == 1.0 and s["accuracy"] == 1.0
    assert s["mcc"] == 0.0
    # empty truth, some prediction: tp 0, fp 2, fn 0, tn 14
    p = np.full((4, 4), 0.1)
    p[0, :2] = 0.9
    s = M.scores_from_confusion(*M.confusion(empty, p))
    assert s["f1"] == 0.0 and s["iou"] == 0.0 and s["precision"] == 0.0
    assert math.isnan(s["sensitivity"]) and s["mcc"] == 0.0
    assert math.isnan(M.roc_auc(empty, p))  # only one class
    # non-empty truth, empty prediction: tp 0, fp 0, fn 2, tn 14
    s = M.scores_from_confusion(*M.confusion(p > 0.5, np.zeros((4, 4))))
    assert s["sensitivity"] == 0.0 and s["f1"] == 0.0 and math.isnan(s["precision"])
    # no pixels at all (empty FOV)
    s = M.scores_from_confusion(*M.confusion(empty, p, fov=np.zeros((4, 4))))
    assert math.isnan(s["accuracy"]) and s["f1"] == 1.0 and s["mcc"] == 0.0
    # per_image skips undefined values and counts the images that contributed
    truths, probs = _two_image_case()
    per = M.segmentation_scores([*truths, empty], [*probs, p], aggregate="per_image")
    assert per["n_images"] == 3
    assert per["n_defined"]["sensitivity"] == 2 and per["n_defined"]["auc"] == 2
    assert per["n_defined"]["f1"] == 3
    assert per["sensitivity"] == pytest.approx((1 + 0.5) / 2)
    assert per["dice"] == pytest.approx((1 + 0.5 + 0.0) / 3)


def _random_images(seed: int, n: int = 4):
    rng = np.random.default_rng(seed)
    truths, probs, fovs = [], [], []
    for i in range(n):
        h, w = 20 + 7 * i, 30 - 3 * i
        t = rng.random((h, w)) < 0.2
        p = np.clip(rng.normal(0.3 + 0.35 * t, 0.2), 0, 1)
        p = np.round(p, 2)  # many ties
        truths.append(t.astype(np.uint8))
        probs.append(p)
        fovs.append((rng.random((h, w)) < 0.8).astype(np.uint8))
    return truths, probs, fovs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    t = rng.random(5000) < 0.3
    p = np.round(rng.random(5000) * 0.6 + 0.3 * t, 2)
    assert M.roc_auc(t, p) == pytest.approx(roc_auc_score(t, p), abs=1e-12)
    p32 = p.astype(np.float32)
    assert M.roc_auc(t, p32) == pytest.approx(roc_auc_score(t, p32), abs=1e-12)
    assert M.roc_auc(t, np.full(5000, 0.5)) == 0.5
    assert math.isnan(M.roc_auc(np.ones(10), rng.random(10)))


def test_streaming_meter_equals_batch_function():
    truths, probs, fovs = _random_images(3)
    batch = M.evaluate_all(truths, probs, fovs, threshold=0.45)
    meter = M.SegmentationMeter(threshold=0.45)
    for t, p, f in zip(truths, probs, fovs, strict=True):
        meter.add(t, p[..., None], f)
    stream = meter.result()
    assert stream["n_images"] == batch["n_images"] == 4
    assert stream["per_image"] == batch["per_image"]
    # ... and both are the mean of scikit-learn's per-image scores inside each FOV.
    from sklearn.metrics import f1_score, jaccard_score

    inside_each = [
        (t[f > 0], p[f > 0] >= 0.45) for t, p, f in zip(truths, probs, fovs, strict=True)
    ]
    for key, score in (("f1", f1_score), ("iou", jaccard_score)):
        want = np.mean([score(t, p) for t, p in inside_each])
        assert batch["per_image"][key] == pytest.approx(want, abs=1e-12), key
    for key, value in batch["pooled"].items():
        if key == "auc":
            continue
        assert stream["pooled"][key] == value, key
    inside = [f > 0 for f in fovs]
    flat_t = np.concatenate([t[m] for t, m in zip(truths, inside, strict=True)])
    flat_p = np.concatenate([p[m] for p, m in zip(probs, inside, strict=True)])
    exact = roc_auc_score(flat_t, flat_p)
    assert batch["pooled"]["auc"] == pytest.approx(exact, abs=1e-12)
    assert stream["pooled"]["auc"] == pytest.approx(exact, abs=1e-4)
    assert stream["conventions"]["pooled_auc"].startswith("histogram")
    assert stream["conventions"]["pooled_auc_max_binning_error"] >= 0.0
    # continuous probabilities: the histogram AUC agrees with sklearn to 1e-4
    rng = np.random.default_rng(7)
    t = rng.random((300, 300)) < 0.1
    p = np.clip(rng.normal(0.4 + 0.2 * t, 0.15), 0, 1)
    m = M.SegmentationMeter()
    m.add(t[:150], p[:150])
    m.add(t[150:], p[150:])
    assert m.pooled()["auc"] == pytest.approx(roc_auc_score(t.ravel(), p.ravel()), abs=1e-4)
    m.reset()
    with pytest.raises(ValueError, match="no images"):
        m.result()


def test_best_threshold_finds_known_optimum():
    # fg: ten at 0.7, two at 0.35; bg: fifty at 0.1, three at 0.4, one at 0.65. F1 by threshold:
    #   (0.1, 0.35] 24/28   (0.35, 0.4] 20/26   (0.4, 0.65] 20/23   (0.65, 0.7] 20/22 (best)
    t = np.array([1] * 12 + [0] * 54, np.uint8)
    p = np.array([0.7] * 10 + [0.35] * 2 + [0.1] * 50 + [0.4] * 3 + [0.65])
    thr, score = M.best_threshold([t], [p])
    assert thr == pytest.approx(0.66) and score == pytest.approx(20 / 22)
    assert M.segmentation_scores([t], [p], threshold=thr)["f1"] == score
    # a candidate equal to a probability predicts it as foreground (>=)
    thr, score = M.best_threshold([t], [p], candidates=[0.3, 0.7, 0.71])
    assert (thr, score) == (0.7, pytest.approx(20 / 22))
    # another metric: sensitivity is maximal (1.0) from the lowest candidate up to 0.35
    thr, score = M.best_threshold([t], [p], metric="sensitivity")
    assert (thr, score) == (0.05, 1.0)
    with pytest.raises(ValueError, match="metric"):
        M.best_threshold([t], [p], metric="auc")


@pytest.mark.parametrize("aggregate", ["pooled", "per_image"])
def test_threshold_curve_matches_brute_force(aggregate):
    truths, probs, fovs = _random_images(5)
    cands, curve = M.threshold_curve(truths, probs, fovs, metric="iou", aggregate=aggregate)
    np.testing.assert_array_equal(cands, M.DEFAULT_THRESHOLDS)
    for i in (0, 17, 30, 45, 60, 90):
        expected = M.segmentation_scores(
            truths, probs, fovs, threshold=cands[i], aggregate=aggregate
        )["iou"]
        assert curve[i] == pytest.approx(expected, abs=1e-12)
    thr, score = M.best_threshold(truths, probs, fovs, metric="iou", aggregate=aggregate)
    assert score == pytest.approx(np.nanmax(curve))
    assert M.segmentation_scores(truths, probs, fovs, thr, aggregate)["iou"] == pytest.approx(score)


def test_keras_metrics_match_numpy_over_two_batches():
    rng = np.random.default_rng(11)
    y1 = (rng.random((3, 16, 16, 1)) < 0.3).astype(np.float32)
    y2 = (rng.random((2, 16, 16, 1)) < 0.3).astype(np.float32)
    p1 = rng.random((3, 16, 16, 1)).astype(np.float32)
    p2 = rng.random((2, 16, 16, 1)).astype(np.float32)
    threshold = 0.4
    meter = M.SegmentationMeter(threshold=threshold)
    for y, p in ((y1, p1), (y2, p2)):
        for i in range(len(y)):
            meter.add(y[i], p[i])
    expected = meter.pooled()
    for cls, key in ((M.Dice, "dice"), (M.IoU, "iou"), (M.Sensitivity, "sensitivity")):
        metric = cls(threshold=threshold)
        metric.update_state(y1, p1)
        metric.update_state(y2[..., 0], p2)  # truth without channel axis
        got = float(keras.ops.convert_to_numpy(metric.result()))
        assert got == pytest.approx(expected[key], abs=1e-6), key
        assert metric.name == key
    metric = M.Specificity(threshold=threshold)
    metric.update_state(y1, p1)
    metric.update_state(y2, p2)
    assert float(metric.result()) == pytest.approx(expected["specificity"], abs=1e-6)
    counts = [float(v) for v in (metric.tp, metric.fp, metric.fn, metric.tn)]
    assert counts == [expected[k] for k in ("tp", "fp", "fn", "tn")]
    # sample_weight per sample: weight 0 drops the image
    metric = M.Dice(threshold=threshold)
    metric.update_state(np.concatenate([y1, y2]), np.concatenate([p1, 1 - p2]), [1, 1, 1, 0, 0])
    dice_first = M.segmentation_scores(list(y1), list(p1), threshold=threshold)["dice"]
    assert float(metric.result()) == pytest.approx(dice_first, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 1.0  # tp + fp + fn == 0 convention


def test_keras_metrics_config_and_empty_conventions():
    for cls in (M.Dice, M.IoU, M.Sensitivity, M.Specificity):
        metric = cls(threshold=0.3, name="m")
        config = metric.get_config()
        assert config["threshold"] == 0.3 and config["name"] == "m"
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
        assert type(clone) is cls and clone.get_config() == config
    z = np.zeros((1, 4, 4, 1), np.float32)
    sens = M.Sensitivity()
    sens.update_state(z, z)
    assert math.isnan(float(sens.result()))
    iou = M.IoU()
    iou.update_state(z, z)
    assert float(iou.result()) == 1.0


def test_invalid_inputs_raise_clear_errors():
    mask255 = TRUTH * 255
    with pytest.raises(ValueError, match=r"binary with values in \{0, 1\}.*255"):
        M.confusion(mask255, PROB)
    with pytest.raises(ValueError, match="binary"):
        M.evaluate_all([mask255], [PROB])
    with pytest.raises(ValueError, match="binary"):
        M.SegmentationMeter().add(TRUTH * 0.5, PROB)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.confusion(TRUTH, PROB * 255)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.roc_auc(TRUTH, np.full(PROB.shape, np.nan))
    with pytest.raises(ValueError, match="shape"):
        M.confusion(TRUTH, PROB[:, :3])
    with pytest.raises(ValueError, match="fov"):
        M.confusion(TRUTH, PROB, fov=np.ones((2, 2)))
    with pytest.raises(ValueError):
        M.evaluate_all([TRUTH, TRUTH], [PROB])  # length mismatch
