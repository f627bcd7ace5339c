"""`tflite/infer.py` and `mininet_lite` without TensorFlow: run in a subprocess where importing
tensorflow, keras, tf_keras or mininet_tf fails, and compare with `mininet_tf.predict`."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from mininet_lite import InputPolicy, runtime
from mininet_tf import export as ex
from mininet_tf.predict import predict

from .conftest import ROOT
from .test_export import SIZE, keras_probs, sample_images, small_model

# Exports, QAT or external tools: outside the fast loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

INFER = ROOT / "tflite" / "infer.py"
BLOCKED = ("tensorflow", "keras", "tf_keras", "mininet_tf")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    source = small_model(base)
    out = tmp_path_factory.mktemp("runtime_models")
    for mode in ("float32", "int8"):
        ex.export(source, out / f"small_{mode}.tflite", mode, size=(SIZE, SIZE), calib_samples=8)
    return source, out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Synthetic test images: native size, an odd size, one larger than two tiles, a grey one."""
    from mininet_tf.data import get_split
    from mininet_tf.data.io import read_image

    folder = tmp_path_factory.mktemp("images")
    records = get_split("synthetic", None, "test")
    arrays = {
        "a": read_image(records[0].image),
        "b": read_image(records[1].image)[:77, :101],
        "c": np.concatenate([read_image(r.image) for r in records[2:4]], axis=1),
    }
    for name, array in arrays.items():
        Image.fromarray(array).save(folder / f"{name}.png")
    Image.fromarray(arrays["a"][..., 1]).save(folder / "grey.png")
    return folder


@pytest.fixture(scope="module")
def no_tf_env(tmp_path_factory):
    """PYTHONPATH with packages that raise on import shadowing the real ones."""
    folder = tmp_path_factory.mktemp("blocked")
    for name in BLOCKED:
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(
            f'raise ImportError("{name} is blocked: tflite/ must run without it")\n'
        )
    return {**os.environ, "PYTHONPATH": str(folder)}


def run_infer(env, *args):
    return subprocess.run(
        [sys.executable, str(INFER), *map(str, args)], env=env, capture_output=True, text=True
    )


def read_png(path):
    return np.asarray(Image.open(path))


#: The overlay's mask colour (mininet_lite.overlay.MASK_COLOR), written out independently.
MASK_COLOR = (255, 220, 0)


def _neighbours(a, outside):
    """Per pixel: is a 4-neighbour / an 8-neighbour True (pixels beyond the frame: outside)."""
    p = np.pad(a, 1, constant_values=outside)
    four = p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return four, four | p[:-2, :-2] | p[:-2, 2:] | p[2:, :-2] | p[2:, 2:]


def overlay_outline(image, mask, overlay, alpha=0.45):
    """Check one mask overlay against its definition, written out here with numpy; returns
    (outline pixels, boundary band).

    Every pixel is the image, blended ``(1 - alpha) * pixel + alpha * MASK_COLOR`` inside the
    mask (to 1 grey level), or an outline pixel in MASK_COLOR. At these sizes (under 600 px)
    the outline is one pixel wide: it lies on the mask's boundary band (mask pixels with a
    background 8-neighbour, the frame counting as background) and covers every mask pixel next
    to the outer background (a 4-neighbour inside the image, holes filled).
    """
    from scipy import ndimage

    assert min(mask.shape) < 600
    color = np.asarray(MASK_COLOR, np.float32)
    blend = image.astype(np.float32)
    blend[mask] = (1 - alpha) * blend[mask] + alpha * color
    blend = np.clip(blend, 0, 255).astype(np.uint8)
    blended = (np.abs(overlay.astype(int) - blend.astype(int)) <= 1).all(-1)
    outline = (overlay == np.asarray(MASK_COLOR, np.uint8)).all(-1) & ~blended
    assert (blended | outline).all(), "pixels that are neither the blend nor the outline"
    _, next_to_background = _neighbours(~mask, True)
    band = mask & next_to_background
    assert not (outline & ~band).any(), "outline pixels off the mask boundary"
    outer, _ = _neighbours(~ndimage.binary_fill_holes(mask), False)
    missed = mask & outer & ~outline
    assert not missed.any(), f"{missed.sum()} outer boundary pixels without outline"
    return outline, band


def test_blocker_really_blocks(no_tf_env):
    code = "import tensorflow"
    result = subprocess.run([sys.executable, "-c", code], env=no_tf_env, capture_output=True)
    assert result.returncode != 0 and b"blocked" in result.stderr


def test_infer_without_tensorflow_equals_mininet_tf_predict(models, images, no_tf_env, tmp_path):
    _, folder = models
    model = folder / "small_float32.tflite"
    result = run_infer(
        no_tf_env, "--model", model, images, "--out", tmp_path / "lite", "--threads", 1
    )
    assert result.returncode == 0, result.stderr
    predict(model, [images], tmp_path / "tf")
    names = sorted(p.name for p in (tmp_path / "tf").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "lite").iterdir())
    assert len(names) == 4 * 3 + 1  # three PNGs per image and the batch manifest
    assert "manifest.json" in names
    for name in names:
        if name.endswith(("_mask.png", "_prob.png")):
            np.testing.assert_array_equal(
                read_png(tmp_path / "lite" / name), read_png(tmp_path / "tf" / name), err_msg=name
            )
    mask = read_png(tmp_path / "lite" / "c_mask.png")
    assert mask.shape == (128, 256) and set(np.unique(mask)) <= {0, 255}
    assert read_png(tmp_path / "lite" / "b_prob.png").dtype == np.uint16
    # Both write mininet_lite.overlay's overlay (they once had an implementation each, which
    # disagreed on the outline): checked against the overlay's definition, and identical.
    outlined = 0
    for stem in ("a", "b", "c", "grey"):
        image = np.asarray(Image.open(images / f"{stem}.png").convert("RGB"))
        mask = read_png(tmp_path / "lite" / f"{stem}_mask.png") > 0
        lite = read_png(tmp_path / "lite" / f"{stem}_overlay.png")
        tf = read_png(tmp_path / "tf" / f"{stem}_overlay.png")
        assert lite.shape == tf.shape == image.shape, stem
        lite_outline, band = overlay_outline(image, mask, lite)
        tf_outline, _ = overlay_outline(image, mask, tf)
        np.testing.assert_array_equal(lite, tf, err_msg=stem)
        outlined += int(lite_outline.sum() + tf_outline.sum())
    assert outlined > 0  # the masks are not empty: the outline checks bite


def test_int8_without_tensorflow_agrees_with_keras(models, images, no_tf_env, tmp_path):
    from mininet_tf.data.io import read_image

    source, folder = models
    model = folder / "small_int8.tflite"
    result = run_infer(no_tf_env, "--model", model, images, "--out", tmp_path, "--threads", 2)
    assert result.returncode == 0, result.stderr
    card = runtime.read_card(model)
    policy = InputPolicy.from_dict(card["input_policy"])
    files = sorted(images.iterdir())
    reference = keras_probs(source, policy, [read_image(f) for f in files])
    for f, prob in zip(files, reference, strict=True):
        lite = read_png(tmp_path / f"{f.stem}_mask.png") > 0
        assert (lite == (prob >= card["threshold"])).mean() >= 0.99, f.name


def test_infer_never_overwrites(models, images, no_tf_env, tmp_path):
    _, folder = models
    model = folder / "small_float32.tflite"
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_mask.png").write_bytes(b"keep me")
    result = run_infer(no_tf_env, "--model", model, images / "a.png", "--out", out)
    assert result.returncode == 2 and "exists" in result.stderr
    assert (out / "a_mask.png").read_bytes() == b"keep me"
    result = run_infer(no_tf_env, "--model", model, images / "a.png", "--out", out, "--overwrite")
    assert result.returncode == 0 and read_png(out / "a_mask.png").shape == (128, 128)
    result = run_infer(no_tf_env, "--model", model, images, "--out", images)
    assert result.returncode == 2 and "input folder" in result.stderr
    result = run_infer(no_tf_env, "--model", folder / "missing.tflite", images, "--out", out)
    assert result.returncode == 2 and "not found" in result.stderr


def test_litert_runs_the_real_converted_models(models):
    """The interpreter `load_interpreter` gives is LiteRT's (ai-edge-litert is installed), and
    running it on the exported files gives the Keras model's output: float32 to 1e-5, int8
    (dequantised with the file's scale and zero point, as `TFLiteSegmenter.forward` does) to
    a few quantisation steps, on an image like those it was calibrated on (uniform noise lies
    outside the calibrated activation ranges, where int8 clips by design)."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    source, folder = models
    model = keras.models.load_model(source, compile=False)
    batch = sample_images(1)[0][None, :SIZE, :SIZE]
    want = np.asarray(model(batch.astype(np.float32), training=False))
    for mode in ("float32", "int8"):
        path = folder / f"small_{mode}.tflite"
        interpreter = runtime.load_interpreter(path)
        assert type(interpreter) is Interpreter
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"])
        if mode == "float32":
            assert raw.dtype == np.float32
            np.testing.assert_allclose(raw, want, rtol=0, atol=1e-5)
        else:
            scale, zero = out["quantization"]
            assert raw.dtype == np.uint8 and 0 < scale <= 1 / 255 + 1e-9
            got = (raw.astype(np.float32) - zero) * np.float32(scale)
            steps = np.abs(got - want) / np.float32(scale)
            # Rounding compounds through ~30 int8 layers: a few pixels on steep parts of the
            # sigmoid move further (seen here: 73 steps at the worst pixel), so the bound is on
            # the bulk, which a wrong scale, zero point or input contract would blow up.
            assert np.percentile(steps, 99) <= 8 and steps.mean() <= 2, (
                np.percentile(steps, [50, 99, 100]),
                steps.mean(),
            )
        segmenter = runtime.TFLiteSegmenter(path)
        assert type(segmenter.interpreter) is Interpreter
        expected = raw if mode == "float32" else got
        np.testing.assert_array_equal(segmenter.forward(batch), expected)


def test_falls_back_to_tflite_runtime(monkeypatch, models):
    """Without ai_edge_litert, `load_interpreter` takes tflite_runtime's Interpreter."""
    calls = []

    class FakeInterpreter:
        def __init__(self, model_path, num_threads=None):
            calls.append((model_path, num_threads))

        def allocate_tensors(self):
            calls.append("allocated")

    fake = types.ModuleType("tflite_runtime")
    fake.interpreter = types.SimpleNamespace(Interpreter=FakeInterpreter)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", fake)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fake.interpreter)
    _, folder = models
    runtime.load_interpreter(folder / "small_int8.tflite", threads=2)
    assert calls == [(str(folder / "small_int8.tflite"), 2), "allocated"]


def test_no_interpreter_is_a_clear_error(monkeypatch, models):
    for name in (
        "ai_edge_litert",
        "ai_edge_litert.interpreter",
        "tflite_runtime",
        "tflite_runtime.interpreter",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    _, folder = models
    with pytest.raises(ImportError, match="pip install ai-edge-litert"):
        runtime.load_interpreter(folder / "small_int8.tflite")


@pytest.mark.skipif(
    not os.environ.get("MININET_TFLITE_RUNTIME_PYTHON"),
    reason="set MININET_TFLITE_RUNTIME_PYTHON to a Python with tflite-runtime (numpy<2)",
)
@pytest.mark.parametrize(("mode", "minimum"), [("float32", 0.999), ("int8", 0.99)])
def test_real_tflite_runtime(models, images, tmp_path, mode, minimum):
    """tflite-runtime in its own environment (it needs numpy < 2) agrees with LiteRT.

    Not bit-identical: the two runtimes' kernels (XNNPACK versions, int8 rounding) differ.
    """
    _, folder = models
    model = folder / f"small_{mode}.tflite"
    python = os.environ["MININET_TFLITE_RUNTIME_PYTHON"]

    def importable(module):
        return (
            subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0
        )

    assert importable("tflite_runtime") and not importable("ai_edge_litert")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    lite = subprocess.run(
        [python, str(INFER), "--model", str(model), str(images), "--out", str(tmp_path / "rt")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert lite.returncode == 0, lite.stderr
    predict(model, [images], tmp_path / "litert")
    for f in sorted(images.iterdir()):
        rt = read_png(tmp_path / "rt" / f"{f.stem}_mask.png")
        litert = read_png(tmp_path / "litert" / f"{f.stem}_mask.png")
        assert (rt == litert).mean() >= minimum, f.name


def test_exif_orientation_same_in_infer_and_predict(models, no_tf_env, tmp_path):
    """A phone JPEG stored sideways (EXIF Orientation 6) is segmented as it displays, by
    infer.py and by predict alike: outputs equal those of its upright pixels saved as PNG."""
    from PIL import ImageOps

    from .test_data_io import _sideways_jpeg

    _, folder = models
    model = folder / "small_float32.tflite"
    photos, upright = tmp_path / "photos", tmp_path / "upright"
    photos.mkdir()
    upright.mkdir()
    _sideways_jpeg(photos / "phone.jpg", 6)
    with Image.open(photos / "phone.jpg") as im:
        ImageOps.exif_transpose(im).convert("RGB").save(upright / "phone.png")
    for name, runner in (
        ("lite", lambda src, out: run_infer(no_tf_env, "--model", model, src, "--out", out)),
        ("tf", lambda src, out: predict(model, [src], out)),
    ):
        for src in (photos, upright):
            result = runner(src, tmp_path / f"{name}_{src.name}")
            assert getattr(result, "returncode", 0) == 0, getattr(result, "stderr", "")
        got = read_png(tmp_path / f"{name}_photos" / "phone_prob.png")
        want = read_png(tmp_path / f"{name}_upright" / "phone_prob.png")
        assert got.shape == (60, 40)
        np.testing.assert_array_equal(got, want)


def test_damaged_model_is_refused_against_its_card_sha256(models, images, no_tf_env, tmp_path):
    """Flipped bytes in a .tflite: a clear error naming the file (infer and predict), before
    the interpreter sees it; --no-verify loads it anyway."""
    import shutil

    _, folder = models
    damaged = tmp_path / "damaged.tflite"
    shutil.copy(folder / "small_float32.tflite", damaged)
    shutil.copy(folder / "small_float32.json", damaged.with_suffix(".json"))
    data = bytearray(damaged.read_bytes())
    data[0] ^= 0xFF  # the flatbuffer's root offset (the end of the file is now metadata)
    damaged.write_bytes(bytes(data))

    result = run_infer(no_tf_env, "--model", damaged, images / "a.png", "--out", tmp_path / "o")
    assert result.returncode == 2, result.stderr
    assert f"{damaged}: sha256" in result.stderr and "--no-verify" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="differs from its card damaged.json"):
        predict(damaged, [images / "a.png"], tmp_path / "p")
    # Unchecked, this damage breaks the graph: still one clear line, never a traceback.
    result = run_infer(
        no_tf_env, "--model", damaged, images / "a.png", "--out", tmp_path / "o", "--no-verify"
    )
    assert result.returncode == 2, result.stderr
    assert f"{damaged}: not a valid .tflite model" in result.stderr
    assert "Traceback" not in result.stderr
    # the untouched model still passes the check
    result = run_infer(
        no_tf_env,
        "--model",
        folder / "small_float32.tflite",
        images / "a.png",
        "--out",
        tmp_path / "ok",
    )
    assert result.returncode == 0, result.stderr


def test_infer_reports_a_decompression_bomb_and_goes_on(models, images, no_tf_env, tmp_path):
    """A huge declared size (a few hundred bytes on disk) is refused like mininet_tf refuses
    it: reported, skipped, the other images done, no traceback."""
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(images / "a.png").save(folder / "a.png")
    Image.new("L", (20000, 20000)).save(folder / "bomb.png", optimize=True)  # 400 MP of zeros
    _, models_dir = models
    result = run_infer(
        no_tf_env, "--model", models_dir / "small_float32.tflite", folder, "--out", tmp_path / "o"
    )
    assert result.returncode == 1, result.stderr
    assert "bomb.png: image too large to decode safely" in result.stderr
    assert "Traceback" not in result.stderr and (tmp_path / "o" / "a_mask.png").is_file()


@pytest.fixture(scope="module")
def random_tflite(tmp_path_factory):
    """An untrained float32 .tflite (random weights, no export recipe) with a tile card: enough
    to follow --tta through infer.py, without the trained model of `models`."""
    import tensorflow as tf

    from mininet_tf.inference import write_card
    from mininet_tf.model import build_mininet, rebuild_at_size

    model = build_mininet(widths=(8, 12, 16))
    rng = np.random.default_rng(0)
    model.set_weights(
        [w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()]
    )
    converter = tf.lite.TFLiteConverter.from_keras_model(rebuild_at_size(model, SIZE, SIZE))
    path = tmp_path_factory.mktemp("random_tflite") / "m.tflite"
    path.write_bytes(converter.convert())
    policy = InputPolicy(mode="tile", size=(SIZE, SIZE), overlap=8, multiple=4)
    write_card(path, {"threshold": 0.5, "input_policy": policy.to_dict()})
    return path


def test_infer_tta_equals_predict_tta_and_is_recorded(random_tflite, images, no_tf_env, tmp_path):
    import json

    lite = tmp_path / "lite"
    result = run_infer(no_tf_env, "--model", random_tflite, images, "--out", lite, "--tta", "flip")
    assert result.returncode == 0, result.stderr
    assert json.loads((lite / "manifest.json").read_text())["model"]["tta"] == "flip"
    predict(random_tflite, [images], tmp_path / "tf", tta="flip")
    predict(random_tflite, [images], tmp_path / "plain")
    names = sorted(p.name for p in lite.glob("*_prob.png"))
    assert len(names) == 4
    for name in names:
        np.testing.assert_array_equal(read_png(lite / name), read_png(tmp_path / "tf" / name))
    assert any((read_png(lite / n) != read_png(tmp_path / "plain" / n)).any() for n in names)
    # Resuming that folder without --tta would mix two configurations' maps: refused.
    result = run_infer(
        no_tf_env, "--model", random_tflite, images, "--out", lite, "--skip-existing"
    )
    assert result.returncode == 2 and "another model" in result.stderr
