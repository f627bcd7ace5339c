"""Vessel-scale normalisation (mininet_lite.fundus): FOV width, rescaling, the option."""

from __future__ import annotations

import numpy as np
import pytest

from mininet_lite.fundus import (
    FovRescaled,
    fov_width,
    rescale_factor,
    resolve_fov_width,
    with_fov_width,
)


def _fundus(height, width, diameter, centre_x=None, value=180):
    """A dark frame with a bright disc of ``diameter`` pixels (a fundus photograph's FOV)."""
    yy, xx = np.mgrid[:height, :width]
    cx = width / 2 if centre_x is None else centre_x
    disc = (yy + 0.5 - height / 2) ** 2 + (xx + 0.5 - cx) ** 2 <= (diameter / 2) ** 2
    image = np.full((height, width, 3), 3, np.uint8)
    image[disc] = (value, value // 2, value // 4)
    return image


@pytest.mark.parametrize("diameter", [60, 121, 300])
def test_fov_width_is_the_disc_diameter(diameter):
    image = _fundus(320, 360, diameter)
    assert abs(fov_width(image) - diameter) <= 1


def test_bright_specks_and_text_outside_the_disc_do_not_widen_it():
    image = _fundus(300, 400, 200)
    image[10:14, 5:60] = 255  # burnt-in text in a corner: a few rows only
    image[150, 390] = 255  # a hot pixel
    assert abs(fov_width(image) - 200) <= 1


def test_a_dim_disc_is_found_relative_to_its_own_brightness():
    assert abs(fov_width(_fundus(200, 200, 150, value=40)) - 150) <= 1


def test_no_field_of_view_is_a_clear_error():
    with pytest.raises(ValueError, match="no field of view"):
        fov_width(np.zeros((50, 60, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        fov_width(np.zeros((50, 60), np.uint8))


class _Recorder:
    """A segmenter whose map is a left-to-right ramp of the image it is given."""

    threshold = 0.4
    card = {"fov_width": 100}

    def __init__(self):
        self.shapes = []

    def predict(self, image):
        self.shapes.append(image.shape[:2])
        return np.tile(np.linspace(0, 1, image.shape[1], dtype=np.float32), (image.shape[0], 1))


def test_fov_rescaled_runs_the_model_at_the_reference_scale_and_maps_back():
    inner = _Recorder()
    image = _fundus(240, 280, 200)
    wrapped = FovRescaled(inner, reference_width=100)
    prob = wrapped.predict(image)
    # The model saw the image at 100/200 of its size; the map is back at the image's size.
    assert inner.shapes == [(120, 140)]
    assert prob.shape == (240, 280)
    assert wrapped.factors == [pytest.approx(0.5, abs=0.01)]
    # A ramp survives the round trip (bilinear both ways).
    np.testing.assert_allclose(prob[0], np.linspace(0, 1, 280), atol=0.01)
    # What evaluate and predict read off a segmenter passes through.
    assert wrapped.threshold == 0.4 and wrapped.card == {"fov_width": 100}
    assert wrapped.fov_width == 100.0
    assert rescale_factor(image, 300) == pytest.approx(1.5, abs=0.01)


def test_the_option_values():
    card = {"fov_width": 539.4}
    assert resolve_fov_width(None, card) is None  # trained at its own scale: off by default
    assert resolve_fov_width(None, {**card, "fov_normalised": True}) == 539.4
    assert resolve_fov_width("none", {**card, "fov_normalised": True}) is None
    assert resolve_fov_width("none", card) is None
    assert resolve_fov_width("auto", card) == 539.4
    assert resolve_fov_width("640", card) == 640.0
    with pytest.raises(ValueError, match="records no fov_width"):
        resolve_fov_width("auto", {"threshold": 0.5})
    for bad in ("wide", "-3", "0"):
        with pytest.raises(ValueError, match="--fov-width"):
            resolve_fov_width(bad, card)
    plain = with_fov_width(_Recorder(), "none")
    assert isinstance(plain, _Recorder) and plain.fov_width is None
    wrapped = with_fov_width(_Recorder(), "auto")
    assert isinstance(wrapped, FovRescaled) and wrapped.fov_width == 100.0
