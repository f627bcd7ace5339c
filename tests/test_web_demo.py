"""The browser demo (`web_demo/`, issue 8) in real headless Chromium, against the Python runtime.

What runs:
- `web_demo/tests/core_check.mjs` (Node, no browser): the page's resize / post-processing code
  against Pillow and scipy, bit for bit.
- `mininet_tf.serve_web` as a subprocess on 127.0.0.1 (``--port 0``), and
  `web_demo/tests/browser_check.mjs`: one Chromium (Debian ``chromium``, driven by
  ``playwright-core``; fake camera from a y4m file) runs every scenario in a fresh context and
  writes downloads and screenshots. The tests below compare them with
  `mininet_lite.TFLiteSegmenter` on the same pixels.

Installs nothing: ``.ci/install_test_tools.sh`` (called by ``.ci/run``) runs ``npm ci`` in
web_demo/ and installs Debian's chromium; these tests skip, saying why, when node_modules is
missing or stale or /usr/bin/chromium is absent. Screenshots are saved under pytest's tmp dir and copied to
``web_demo/test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import ROOT, shared_data_dir

WEB = ROOT / "web_demo"
SHIPPED_MODELS = ROOT / "tflite" / "models"
ARTIFACTS = WEB / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
INT8 = "mininet_isic2017_fast_int8"  # the page's default model (the fast variant, #13)
FLOAT16 = "mininet_isic2017_fast_float16"  # the same model in float16, a page option
OTHER_INT8 = "mininet_isic2017_int8"  # the default architecture's int8 file, a page option
#: Pixel agreement required between the page's mask and the Python runtime's (issue 8).
MIN_AGREEMENT = 0.995
#: The page's MAX_SIDE (app.js): larger images are downscaled to this longest side.
PAGE_MAX_SIDE = 2048
HUGE_SIZE = (3072, 2304)  # (W, H): downscaled by the page to 2048x1536
CAMERA_SIZE = (640, 480)

pytestmark = pytest.mark.slow


# === Installing what the tests need ===


def _npm_stale() -> bool:
    """True when web_demo/node_modules does not hold exactly the locked versions."""
    lock = json.loads((WEB / "package-lock.json").read_text())
    for key, entry in lock.get("packages", {}).items():
        if not key.startswith("node_modules/"):
            continue
        installed = WEB / key / "package.json"
        if not installed.is_file():
            return True
        if json.loads(installed.read_text()).get("version") != entry.get("version"):
            return True
    return False


INSTALLER = "bash .ci/install_test_tools.sh"


def ensure_node_modules() -> None:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm not installed (needed for LiteRT.js and playwright-core)")
    if _npm_stale():
        pytest.skip(f"web_demo/node_modules is missing or not the locked versions ({INSTALLER})")


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed ({INSTALLER} installs Debian's chromium)")
    return CHROMIUM


def run_node(script: str, arg: Path, timeout: float) -> dict:
    proc = subprocess.run(
        ["node", str(WEB / "tests" / script), str(arg)],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# === Models ===


def _standin_models(folder: Path) -> Path:
    """Until tflite/models ships the default exports: the shipped pretrained Keras model exported
    here (int8 calibrated on synthetic lesions, and float16) with a resize-policy card."""
    export = pytest.importorskip("mininet_tf.export", reason="mininet_tf.export not available")
    import keras

    from mininet_lite.runtime import load_interpreter
    from mininet_tf.data.synthetic import generate

    pretrained = ROOT / "mininet_tf" / "pretrained"
    source = next(
        (
            p
            for p in (
                pretrained / "mininet_isic2017_fast.keras",
                pretrained / "mininet_isic2017.keras",
                pretrained / "mininet_ph2.keras",
                pretrained / "mininet_drive.keras",
            )
            if p.is_file()
        ),
        None,
    )
    if source is None:
        pytest.skip("no shipped model in tflite/models and no pretrained .keras to export")
    model = keras.models.load_model(source, compile=False)
    source_card = json.loads(source.with_suffix(".json").read_text())
    size = (192, 192)
    images, _, _ = generate("lesions", 8, size=size, seed=0)
    calibration = [img[None] for img in images]
    folder.mkdir(parents=True, exist_ok=True)
    for name, mode in ((INT8, "int8"), (FLOAT16, "float16")):
        data = export.convert(model, mode, size, calibration if mode == "int8" else None)
        path = folder / f"{name}.tflite"
        path.write_bytes(data)
        out = load_interpreter(path).get_output_details()[0]
        scale, zero = out["quantization"]
        quantized = out["dtype"] == np.uint8
        card = {
            "mode": mode,
            "note": f"test stand-in exported from {source.name}",
            "input": {"shape": [1, *size, 3], "dtype": "uint8"},
            "output": {
                "dtype": np.dtype(out["dtype"]).name,
                "scale": float(scale) if quantized else None,
                "zero_point": int(zero) if quantized else None,
            },
            "input_policy": {"mode": "resize", "size": list(size), "overlap": 32, "multiple": 8},
            "threshold": float(source_card.get("threshold", 0.5)),
        }
        path.with_suffix(".json").write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """The folder served as /models/: the default models (+ cards) and a corrupt model."""
    folder = tmp_path_factory.mktemp("web_models")
    if (SHIPPED_MODELS / f"{INT8}.tflite").is_file():
        for name in (INT8, FLOAT16, OTHER_INT8):
            for suffix in (".tflite", ".json"):
                src = SHIPPED_MODELS / f"{name}{suffix}"
                if src.is_file():
                    shutil.copy(src, folder / src.name)
    else:
        _standin_models(folder)
    data = (folder / f"{INT8}.tflite").read_bytes()
    (folder / "corrupt.tflite").write_bytes(data[: len(data) // 8])
    shutil.copy(folder / f"{INT8}.json", folder / "corrupt.json")
    return folder


def python_prob(model: Path, image: np.ndarray) -> tuple[np.ndarray, float]:
    from mininet_lite.runtime import TFLiteSegmenter

    seg = TFLiteSegmenter(model, threads=1)
    return seg.predict(image), seg.threshold


def python_model_io(model: Path, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The uint8 model input and the dequantised output the Python runtime computes."""
    from mininet_lite.runtime import TFLiteSegmenter
    from mininet_lite.tiling import resize_uint8

    seg = TFLiteSegmenter(model, threads=1)
    x = resize_uint8(image, *seg.policy.size)
    return x, seg.forward(x[None])[0, ..., 0]


def page_model_io(r: dict) -> tuple[np.ndarray, np.ndarray]:
    import base64

    size = r["modelInfo"]["size"]
    x = np.frombuffer(base64.b64decode(r["modelIO"]["input"]), np.uint8).reshape(*size, 3)
    y = np.asarray(r["modelIO"]["probSmall"], np.float32).reshape(size)
    return x, y


def python_mask(model: Path, image: np.ndarray) -> np.ndarray:
    prob, threshold = python_prob(model, image)
    return prob >= threshold


# === Inputs ===


def _sample_image() -> tuple[np.ndarray, str]:
    """A PH2 dermoscopy image when ../shared/data is there, else a synthetic lesion."""
    ph2 = shared_data_dir() / "PH2" / "images"
    images = sorted(ph2.glob("*.jpg")) if ph2.is_dir() else []
    if images:
        return np.asarray(Image.open(images[0]).convert("RGB")), f"PH2 {images[0].name}"
    from mininet_tf.data.synthetic import generate

    imgs, _, _ = generate("lesions", 1, size=(572, 765), seed=3)
    return imgs[0], "synthetic lesion 765x572"


def _yuv420(rgb: np.ndarray) -> bytes:
    """One RGB frame as 4:2:0 planes, BT.601 limited range (Y 16-235), which is how Chromium
    converts the frames of its fake camera back to RGB."""
    h, w = rgb.shape[:2]
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (219 / 255) * (0.299 * r + 0.587 * g + 0.114 * b)
    u = 128 + (224 / 255) * (-0.168736 * r - 0.331264 * g + 0.5 * b)
    v = 128 + (224 / 255) * (0.5 * r - 0.418688 * g - 0.081312 * b)

    def sub(c):
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [np.clip(np.round(p), 0, 255).astype(np.uint8) for p in (y, sub(u), sub(v))]
    return b"".join(p.tobytes() for p in planes)


def write_y4m_frames(path: Path, frames, fps: int = 30) -> None:
    """A 4:2:0 YUV4MPEG2 video of RGB frames (all of one size), for Chromium's fake camera
    (--use-file-for-fake-video-capture), which plays it at `fps` and loops it."""
    with open(path, "wb") as handle:
        for i, rgb in enumerate(frames):
            if i == 0:
                h, w = rgb.shape[:2]
                handle.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            handle.write(b"FRAME\n" + _yuv420(rgb))


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 3) -> None:
    """A clip of one RGB image (see `write_y4m_frames`)."""
    write_y4m_frames(path, [rgb] * frames)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("web_inputs")
    image, label = _sample_image()
    sample = folder / "sample.png"
    Image.fromarray(image).save(sample)
    huge = folder / "huge.png"
    Image.fromarray(image).resize(HUGE_SIZE, Image.BILINEAR).save(huge, compress_level=1)
    not_image = folder / "not_an_image.png"
    not_image.write_text("This is a text file with a .png name, not an image.\n")
    camera_rgb = np.asarray(Image.fromarray(image).resize(CAMERA_SIZE, Image.BILINEAR))
    y4m = folder / "camera.y4m"
    write_y4m(y4m, camera_rgb)
    return {
        "sample": sample,
        "sample_label": label,
        "huge": huge,
        "not_image": not_image,
        "y4m": y4m,
        "camera_rgb": camera_rgb,
    }


# === Server and browser run ===


@pytest.fixture(scope="module")
def server(models_dir):
    ensure_node_modules()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mininet_tf.serve_web", "--port", "0", "--quiet"]
        + ["--models-dir", str(models_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=120)
    if not lines or not lines[0].startswith("serving http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"serve_web did not start: {lines} {proc.stderr.read()[-2000:]}")
    url = lines[0].split()[1]
    print(f"serve_web: {url} (port {url.rsplit(':', 1)[1].strip('/')})")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(server, models_dir, inputs, tmp_path_factory) -> dict:
    """Run every page scenario once in one Chromium; returns the report plus paths."""
    chromium = ensure_chromium()
    out = tmp_path_factory.mktemp("web_browser")
    config = {
        "baseUrl": server,
        "outDir": str(out),
        "chromium": str(chromium),
        "sample": str(inputs["sample"]),
        "huge": str(inputs["huge"]),
        "nonImage": str(inputs["not_image"]),
        "y4m": str(inputs["y4m"]),
        "float16Model": f"models/{FLOAT16}.tflite"
        if (models_dir / f"{FLOAT16}.tflite").is_file()
        else None,
        "otherInt8Model": f"models/{OTHER_INT8}.tflite"
        if (models_dir / f"{OTHER_INT8}.tflite").is_file()
        else None,
        "corruptModel": "models/corrupt.tflite",
    }
    config_path = out / "config.json"
    config_path.write_text(json.dumps(config))
    start = time.monotonic()
    report = run_node("browser_check.mjs", config_path, timeout=300)
    seconds = time.monotonic() - start
    print(f"browser run: {seconds:.1f} s, Chromium {report.get('chromiumVersion')}")
    ARTIFACTS.mkdir(exist_ok=True)
    for item in out.iterdir():
        if item.suffix in (".png", ".json"):
            shutil.copy(item, ARTIFACTS / item.name)
    return {"report": report, "out": out, "seconds": seconds}


def scenario(browser, name: str) -> dict:
    result = browser["report"][name]
    assert "error" not in result, f"scenario {name} failed in the browser:\n{result['error']}"
    return result


def read_mask_png(path) -> np.ndarray:
    array = np.asarray(Image.open(path).convert("L"))
    assert set(np.unique(array).tolist()) <= {0, 255}, "mask PNG is not 0/255"
    return array > 127


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, f"mask shapes differ: {a.shape} vs {b.shape}"
    return float((a == b).mean())


def record_agreement(name: str, value: float, **extra) -> None:
    print(f"{name}: pixel agreement with mininet_lite {value:.6f} {extra}")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "agreement.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = {"agreement": value, **extra}
    path.write_text(json.dumps(data, indent=2))


# === Python reference of the measurements (same definitions as mininet_core.js) ===


def ref_postprocess(mask: np.ndarray, largest: bool, fill: bool) -> np.ndarray:
    from scipy import ndimage

    out = mask.astype(bool)
    if largest and out.any():
        labels, n = ndimage.label(out, structure=np.ones((3, 3), bool))
        sizes = np.bincount(labels.ravel())[1:]
        out = labels == (int(np.argmax(sizes)) + 1)
    if fill:
        out = ndimage.binary_fill_holes(out)
    return out


def ref_measure(mask: np.ndarray, mm_per_px=None) -> dict:
    """The Android app's measurement definitions (and JSON keys), plus the page's extras."""
    from scipy import ndimage

    h, w = mask.shape
    area = int(mask.sum())
    ys, xs = np.nonzero(mask)
    bbox = None
    if area:
        bbox = {
            "x": int(xs.min()),
            "y": int(ys.min()),
            "width": int(xs.max() - xs.min() + 1),
            "height": int(ys.max() - ys.min() + 1),
        }
    eq = float(np.sqrt(4.0 * area / np.pi))
    mm = mm_per_px
    return {
        "image_width": w,
        "image_height": h,
        "area_px": area,
        "area_fraction": area / (w * h),
        "bbox": bbox,
        "equivalent_diameter_px": eq,
        "centroid": {"x": int(xs.sum()) / area, "y": int(ys.sum()) / area} if area else None,
        "mm_per_px": mm,
        "area_mm2": area * mm * mm if mm else None,
        "equivalent_diameter_mm": eq * mm if mm else None,
        "bbox_mm": {"width": bbox["width"] * mm, "height": bbox["height"] * mm}
        if mm and bbox
        else None,
        "area_percent": 100.0 * area / (w * h),
        "components": int(ndimage.label(mask, structure=np.ones((3, 3), bool))[1]),
    }


def assert_measurements(page: dict, ref: dict) -> None:
    assert set(page) == set(ref)
    for key, value in ref.items():
        if isinstance(value, dict):
            assert page[key] == pytest.approx(value, rel=1e-12), key
        elif isinstance(value, float):
            assert page[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert page[key] == value, key


# === Tests without a browser ===


def test_core_resize_and_measurements_match_pillow_and_scipy(tmp_path):
    """mininet_core.js in Node: Pillow BILINEAR (uint8 and float32) and the measurements."""
    ensure_node_modules()
    from mininet_lite.tiling import resize_float, resize_uint8

    rng = np.random.default_rng(0)
    sizes = [(765, 572, 192, 192), (4000, 3000, 192, 192), (100, 80, 192, 192)]
    sizes += [(50, 300, 192, 192), (193, 191, 192, 192), (3072, 2304, 2048, 1536)]
    sizes += [tuple(int(v) for v in rng.integers(2, 300, 4)) for _ in range(6)]
    cases, refs = [], {}
    for i, (sw, sh, dw, dh) in enumerate(sizes):
        img = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
        img.tofile(tmp_path / f"u{i}.in")
        cases.append({"name": f"u{i}", "op": "resize_u8", "sw": sw, "sh": sh, "dw": dw, "dh": dh})
        refs[f"u{i}"] = resize_uint8(img, dh, dw)
        prob = rng.random((dh, dw), dtype=np.float32)
        prob.tofile(tmp_path / f"f{i}.in")
        cases.append({"name": f"f{i}", "op": "resize_f32", "sw": dw, "sh": dh, "dw": sw, "dh": sh})
        refs[f"f{i}"] = resize_float(prob, sh, sw)
    masks = {}
    for i in range(4):
        small = rng.random((12, 16)) > 0.55
        mask = np.array(Image.fromarray(small).resize((160, 120), Image.NEAREST))
        mask[40:60, 50:70] = True
        mask[45:55, 55:65] = False  # a hole
        masks[f"p{i}"] = mask
        mask.astype(np.uint8).tofile(tmp_path / f"p{i}.in")
        largest, fill = bool(i & 1), bool(i & 2)
        scale = [
            None,
            {"kind": "field_of_view_mm", "value": 24.0},
            None,
            {"kind": "pixels_per_mm", "value": 40.0},
        ][i]
        cases.append(
            {
                "name": f"p{i}",
                "op": "post",
                "w": 160,
                "h": 120,
                "largestOnly": largest,
                "fill": fill,
                "scale": scale,
            }
        )
        refs[f"p{i}"] = ref_postprocess(mask, largest, fill)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    report = run_node("core_check.mjs", tmp_path, timeout=120)
    for case in cases:
        name, ref = case["name"], refs[case["name"]]
        if case["op"] == "resize_f32":
            got = np.fromfile(tmp_path / f"{name}.out", np.float32).reshape(ref.shape)
        else:
            got = np.fromfile(tmp_path / f"{name}.out", np.uint8).reshape(ref.shape)
        assert np.array_equal(got, ref.astype(got.dtype)), f"{case} differs from Pillow/scipy"
        if case["op"] == "post":
            scale = case["scale"]
            mm = None
            if scale and scale["kind"] == "field_of_view_mm":
                mm = scale["value"] / 120  # the shorter side
            elif scale:
                mm = 1.0 / scale["value"]
            assert_measurements(report[name], ref_measure(ref, mm))


def test_serve_web_is_local_read_only_and_refuses_traversal(tmp_path):
    import http.client

    from mininet_tf.serve_web import make_server

    web = tmp_path / "web"
    (web / "node_modules" / "@litertjs" / "core" / "wasm").mkdir(parents=True)
    (web / "node_modules" / "other").mkdir()
    (web / "tests").mkdir()
    (web / "index.html").write_text("<!doctype html><title>t</title>")
    (web / "app.js").write_text("export {};")
    (web / "m.mjs").write_text("export {};")
    (web / ".secret").write_text("hidden")
    (web / "node_modules" / "@litertjs" / "core" / "wasm" / "x.wasm").write_bytes(b"\0asm")
    (web / "node_modules" / "other" / "b.js").write_text("no")
    (web / "tests" / "t.mjs").write_text("no")
    models = tmp_path / "models"
    models.mkdir()
    (models / "m.tflite").write_bytes(b"....TFL3")
    (models / "m.json").write_text("{}")
    (tmp_path / "outside.txt").write_text("outside")
    (web / "link.txt").symlink_to(tmp_path / "outside.txt")

    server = make_server(0, web, models, quiet=True)
    assert server.server_address[0] == "127.0.0.1"
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def request(method, path):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, resp.getheader("Content-Type"), body

    try:
        assert request("GET", "/")[:2] == (200, "text/html; charset=utf-8")
        assert request("GET", "/app.js")[1] == "text/javascript; charset=utf-8"
        assert request("GET", "/m.mjs")[1] == "text/javascript; charset=utf-8"
        assert request("GET", "/node_modules/@litertjs/core/wasm/x.wasm")[1] == "application/wasm"
        assert request("GET", "/models/m.tflite")[1] == "application/octet-stream"
        assert request("GET", "/models/m.json")[1] == "application/json"
        assert request("HEAD", "/models/m.tflite")[0] == 200
        # Cross-origin isolation (issue 17): the page may use LiteRT.js threads.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        assert resp.getheader("Cross-Origin-Opener-Policy") == "same-origin"
        assert resp.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
        assert resp.getheader("Cross-Origin-Resource-Policy") == "same-origin"
        for path in (
            "/../outside.txt",
            "/%2e%2e/outside.txt",
            "/models/../index.html",
            "/models/%2e%2e/%2e%2e/outside.txt",
            "/models/..%2f..%2foutside.txt",
            "/..%5c..%5coutside.txt",
            "/.secret",
            "/link.txt",
            "/node_modules/other/b.js",
            "/tests/t.mjs",
            "/no_such_file",
        ):
            status, _, body = request("GET", path)
            assert status == 404, path
            assert b"outside" not in body and b"hidden" not in body
        for method in ("POST", "PUT", "DELETE"):
            assert request(method, "/index.html")[0] == 405
        assert (web / "index.html").read_text().startswith("<!doctype html>")
    finally:
        server.shutdown()
        server.server_close()


# === Browser tests ===


def assert_page_runs_int8_like_python(r, model: Path, rgb, name: str, **extra) -> np.ndarray:
    """Pre-processing is bit-exact, and LiteRT.js runs the int8 ``model`` bit-exactly like
    ai-edge-litert: same uint8 model input, same dequantised output; the page's mask agrees
    with mininet_lite's. Returns the page's mask."""
    model_input, page_small = page_model_io(r)
    ref_input, ref_small = python_model_io(model, rgb)
    assert np.array_equal(model_input, ref_input)
    assert np.array_equal(page_small, ref_small)
    page_mask = read_mask_png(r["mask"]["path"])
    ref = python_mask(model, rgb)
    value = agreement(page_mask, ref)
    record_agreement(name, value, differing_pixels=int((page_mask != ref).sum()), **extra)
    assert value >= MIN_AGREEMENT
    return page_mask


def test_page_segments_the_sample_like_the_python_runtime(browser, server, models_dir, inputs):
    r = scenario(browser, "main")
    assert r["text"]["state"] == "done", r["text"]
    assert r["text"]["error"] is None
    assert r["modelInfo"]["outputDtype"] == "uint8"  # the int8 model runs in LiteRT.js
    assert r["mask"]["suggested"] == "sample_mask.png"
    assert r["json"]["suggested"] == "sample_result.json"

    image = np.asarray(Image.open(inputs["sample"]).convert("RGB"))
    page_mask = assert_page_runs_int8_like_python(
        r,
        models_dir / f"{INT8}.tflite",
        image,
        "int8_sample",
        image=inputs["sample_label"],
        size=list(image.shape[:2]),
    )

    downloaded = json.loads(Path(r["json"]["path"]).read_text())
    assert downloaded == r["result"]
    assert downloaded["postprocess"]["threshold"] == downloaded["model"]["card_threshold"]
    assert downloaded["analysed_image"]["width"] == image.shape[1]
    assert downloaded["analysed_image"]["downscaled"] is False
    assert downloaded["source"] == "file" and downloaded["scale"] is None
    assert_measurements(downloaded["measurements"], ref_measure(page_mask))
    keys = [k for k, _ in r["text"]["measurements"]]
    assert keys == ["area", "bbox", "diameter", "components"]

    # The image never leaves the device: only GETs of the page's own files, none after the
    # photo was chosen.
    assert r["requestsAfterImage"] == [], r["requestsAfterImage"]
    for req in r["log"]["requests"]:
        assert req["method"] == "GET" and req["url"].startswith(server), req
    assert r["log"]["pageErrors"] == []


def test_options_largest_region_fill_holes_and_mm(browser):
    r = scenario(browser, "main")
    raw = read_mask_png(r["mask"]["path"])
    got = read_mask_png(r["optionsMask"]["path"])
    assert np.array_equal(got, ref_postprocess(raw, largest=True, fill=True))
    res = r["optionsResult"]
    assert res["scale"] == {"kind": "field_of_view_mm", "value": 20}
    # Field of view: mm across the shorter side of the analysed image (as the Android app).
    mm_per_px = 20.0 / min(res["analysed_image"]["width"], res["analysed_image"]["height"])
    assert res["measurements"]["mm_per_px"] == pytest.approx(mm_per_px, rel=1e-12)
    assert_measurements(res["measurements"], ref_measure(got, mm_per_px))
    assert res["measurements"]["components"] <= 1
    shown = dict(r["optionsText"]["measurements"])
    assert "mm²" in shown["area-mm"] and "mm" in shown["diameter-mm"]


def test_float16_model_agrees_too(browser, models_dir, inputs):
    r = scenario(browser, "float16")
    if "skipped" in r:
        pytest.skip(r["skipped"])
    assert r["modelInfo"]["outputDtype"] == "float32"
    image = np.asarray(Image.open(inputs["sample"]).convert("RGB"))
    model_input, page_small = page_model_io(r)
    ref_input, ref_small = python_model_io(models_dir / f"{FLOAT16}.tflite", image)
    assert np.array_equal(model_input, ref_input)
    max_diff = float(np.abs(page_small - ref_small).max())
    page_mask = read_mask_png(r["mask"]["path"])
    ref = python_mask(models_dir / f"{FLOAT16}.tflite", image)
    value = agreement(page_mask, ref)
    record_agreement(
        "float16_sample",
        value,
        differing_pixels=int((page_mask != ref).sum()),
        max_abs_prob_diff_192=max_diff,
    )
    assert max_diff < 1e-4
    assert value >= MIN_AGREEMENT


def test_other_architecture_int8_runs_in_the_page_like_the_python_runtime(
    browser, models_dir, inputs
):
    """The default architecture's int8 file (full resolution, 1x1 head), a page option beside
    the fast default, runs in LiteRT.js bit-exactly like ai-edge-litert."""
    r = scenario(browser, "other_int8")
    if "skipped" in r:
        pytest.skip(r["skipped"])
    assert r["text"]["state"] == "done", r["text"]
    assert r["modelInfo"]["outputDtype"] == "uint8"
    image = np.asarray(Image.open(inputs["sample"]).convert("RGB"))
    assert_page_runs_int8_like_python(
        r, models_dir / f"{OTHER_INT8}.tflite", image, "other_int8_sample"
    )


def test_huge_image_is_downscaled_with_a_notice(browser, models_dir, inputs):
    from mininet_lite.tiling import resize_uint8

    r = scenario(browser, "huge")
    assert r["text"]["state"] == "done"
    notice = r["text"]["notice"]
    assert notice and "downscaled" in notice and f"{HUGE_SIZE[0]}×{HUGE_SIZE[1]}" in notice
    original, analysed = r["result"]["original_image"], r["result"]["analysed_image"]
    assert (original["width"], original["height"]) == HUGE_SIZE
    assert (analysed["width"], analysed["height"]) == (2048, 1536) and analysed["downscaled"]
    assert r["result"]["measurements"]["image_width"] == 2048
    # The same contract in Python: Pillow-bilinear downscale to the working size, then predict.
    huge = np.asarray(Image.open(inputs["huge"]).convert("RGB"))
    working = resize_uint8(huge, 1536, 2048)
    ref = python_mask(models_dir / f"{INT8}.tflite", working)
    value = agreement(read_mask_png(r["mask"]["path"]), ref)
    record_agreement("int8_huge_downscaled", value)
    assert value >= MIN_AGREEMENT


def test_non_image_file_shows_a_clear_message(browser):
    r = scenario(browser, "nonImage")
    assert r["text"]["state"] == "input-error"
    assert "not_an_image.png" in r["text"]["error"]
    assert "not an image" in r["text"]["error"]
    assert r["resultPanelHidden"] is True
    assert r["text"]["fileInputDisabled"] is False  # the user can choose another file


def test_model_that_fails_to_load_shows_a_clear_message(browser):
    r = scenario(browser, "badModel")
    missing = r["missing"]["text"]
    assert missing["state"] == "model-error"
    assert "Could not load the model models/no_such_model.tflite" in missing["error"]
    assert "404" in missing["error"]
    assert missing["fileInputDisabled"] is True
    corrupt = r["corrupt"]["text"]
    assert corrupt["state"] == "model-error"
    assert "could not load the model models/corrupt.tflite" in corrupt["error"]
    assert corrupt["fileInputDisabled"] is True


def test_camera_capture_with_chromium_fake_camera(browser, models_dir, inputs):
    r = scenario(browser, "camera")
    assert r["cameraState"] == "camera", r.get("text0")
    assert r["state"] == "done", r["text"]
    assert r["cameraStopped"] is True
    frame = np.asarray(Image.open(r["frame"]).convert("RGB"))
    assert frame.shape[:2] == (CAMERA_SIZE[1], CAMERA_SIZE[0])
    # The frame is the y4m picture (after YUV 4:2:0 and back), not Chromium's default pattern.
    diff = np.abs(frame.astype(int) - inputs["camera_rgb"].astype(int)).mean()
    assert diff < 8, f"captured frame differs from the fake camera's clip by {diff:.1f} on average"
    assert r["result"]["source"] == "camera"
    ref = python_mask(models_dir / f"{INT8}.tflite", frame)
    value = agreement(read_mask_png(r["mask"]["path"]), ref)
    record_agreement("int8_camera_frame", value, mean_abs_frame_vs_clip=round(float(diff), 2))
    assert value >= MIN_AGREEMENT


def test_screenshots_are_saved_as_artifacts(browser):
    for name in (
        "main.png",
        "options.png",
        "huge.png",
        "non_image.png",
        "bad_model.png",
        "camera.png",
    ):
        for folder in (browser["out"], ARTIFACTS):
            path = folder / name
            assert path.is_file() and path.stat().st_size > 5000, path
            with Image.open(path) as im:
                assert im.format == "PNG" and im.size[0] >= 800
    print(f"screenshots: {ARTIFACTS}; browser part took {browser['seconds']:.1f} s")


def test_serve_web_outside_a_clone_says_so(tmp_path, monkeypatch, capsys):
    """A non-editable install has no web_demo/: a plain error, exit 2, nothing served."""
    from mininet_tf import serve_web

    monkeypatch.setattr(serve_web, "WEB_DIR", tmp_path / "site-packages" / "web_demo")
    assert serve_web.main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "not installed with the package" in err and "from a clone" in err


# === Live preview (issue 17) ===

#: Processed frames the live test runs per variant, and the frame its measurements start at.
LIVE_FRAMES = 300
LIVE_WARMUP = 50
#: Target of issue 17: frames per second at the model's input size in headless Chromium.
MIN_LIVE_FPS = 10.0
#: JS heap growth allowed over LIVE_FRAMES frames after the warm-up (live paused, after GC).
MAX_HEAP_GROWTH = 2 * 2**20
LIVE_SIZE = (640, 480)  # (W, H) of the fake camera's video
#: The fake camera's frame rate: above a phone camera's 30 so that the measured fps is the
#: page's capacity rather than the camera's rate.
LIVE_CAMERA_FPS = 60
LIVE_FRAMES_EACH = 45  # frames per dermoscopy image (0.75 s at 60 fps), with a slow drift


def ref_framing(mask: np.ndarray, limits: dict, previous: np.ndarray | None = None) -> dict:
    """mininet_core.framingCue in numpy/scipy: the lesion is the largest 8-connected region."""
    from scipy import ndimage

    h, w = mask.shape
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    share = float(sizes.max()) / mask.size if n else 0.0
    found = n > 0 and share >= limits["minShare"]
    touches, centred, offset = False, False, None
    if found:
        ys, xs = np.nonzero(labels == int(np.argmax(sizes)) + 1)
        b = limits["borderPx"]
        touches = bool(
            (xs < b).any() or (ys < b).any() or (xs >= w - b).any() or (ys >= h - b).any()
        )
        offset = {"x": (xs.mean() + 0.5) / w - 0.5, "y": (ys.mean() + 0.5) / h - 0.5}
        tol = limits["centreTolerance"]
        centred = abs(offset["x"]) <= tol and abs(offset["y"]) <= tol
    stability = None
    if previous is not None:
        union = np.logical_or(mask, previous).sum()
        stability = 1.0 if union == 0 else float(np.logical_and(mask, previous).sum() / union)
    if not found:
        cue = "no-lesion"
    elif touches:
        cue = "move-back" if share > limits["farShare"] else "touches-edge"
    elif share < limits["closeShare"]:
        cue = "move-closer"
    elif not centred:
        cue = "re-centre"
    elif stability is not None and stability >= limits["steadyIoU"]:
        cue = "ready"
    else:
        cue = "hold-steady"
    return {
        "found": found,
        "share": share,
        "foreground": float(mask.sum()) / mask.size,
        "touchesBorder": touches,
        "centred": centred,
        "offset": offset,
        "stability": stability,
        "cue": cue,
    }


def assert_framing(page: dict, ref: dict) -> None:
    for key, value in ref.items():
        if isinstance(value, float) or isinstance(value, dict):
            assert page[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert page[key] == value, key
    assert page["message"], "no cue text"


def _disc(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def test_live_framing_cue_and_frame_gate_in_node(tmp_path):
    """The live preview's pure parts (mininet_core.js) in Node: the framing cue against a
    numpy/scipy reference on masks made for each cue, the frame gate on a timed sequence, and
    the live model input (RGBA frame) against Pillow."""
    ensure_node_modules()
    from mininet_lite.tiling import resize_uint8

    h, w = 96, 128
    rng = np.random.default_rng(1)
    steady = _disc(h, w, 48, 64, 22)
    masks = {
        "empty": (np.zeros((h, w), bool), None, "no-lesion"),
        "speck": (_disc(h, w, 40, 60, 2), None, "no-lesion"),
        "small": (_disc(h, w, 48, 64, 8), None, "move-closer"),
        "edge": (_disc(h, w, 48, 12, 20), None, "touches-edge"),
        "fills": (_disc(h, w, 48, 64, 70), None, "move-back"),
        "offcentre": (_disc(h, w, 30, 35, 18), None, "re-centre"),
        "first": (steady, None, "hold-steady"),
        "moving": (steady, np.roll(steady, 12, axis=1), "hold-steady"),
        "steady": (steady, np.roll(steady, 1, axis=1), "ready"),
    }
    for i in range(6):  # noisy masks: several regions, the largest decides
        small = rng.random((12, 16)) > 0.6
        noisy = np.asarray(Image.fromarray(small).resize((w, h), Image.NEAREST))
        masks[f"noisy{i}"] = (noisy, noisy if i % 2 else None, None)
    cases = []
    for name, (mask, previous, _) in masks.items():
        mask.astype(np.uint8).tofile(tmp_path / f"{name}.in")
        case = {"name": name, "op": "cue", "w": w, "h": h, "previous": None}
        if previous is not None:
            previous.astype(np.uint8).tofile(tmp_path / f"{name}_prev.in")
            case["previous"] = f"{name}_prev"
        cases.append(case)
    # Frame gate: a 30 fps camera (33 ms) and 80 ms per frame: frames 1 and 2 arrive while
    # frame 0 is in inference and are dropped; frame 5 is never offered (presentedFrames
    # jumps from 4 to 6: the page was blocked) and counts as dropped too.
    events = [["offer", 0, 0], ["offer", 33, 1], ["offer", 67, 2], ["done", 80]]
    events += [["offer", 100, 3], ["offer", 133, 4], ["done", 180], ["offer", 200, 6]]
    events += [["abort"], ["offer", 233, 7], ["done", 300]]
    cases.append({"name": "gate", "op": "gate", "window": 2, "events": events})
    frame = rng.integers(0, 256, (LIVE_SIZE[1], LIVE_SIZE[0], 4), dtype=np.uint8)
    frame.tofile(tmp_path / "frame.in")
    cases.append(
        {
            "name": "frame",
            "op": "model_input",
            "w": LIVE_SIZE[0],
            "h": LIVE_SIZE[1],
            "channels": 4,
            "size": [128, 160],
            "maxSide": 2048,
        }
    )
    big = rng.integers(0, 256, (1600, 2400, 4), dtype=np.uint8)  # above maxSide: two resizes
    big.tofile(tmp_path / "big.in")
    cases.append({**cases[-1], "name": "big", "w": 2400, "h": 1600, "size": [192, 192]})
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    report = run_node("core_check.mjs", tmp_path, timeout=120)

    limits = report["FRAMING"]
    for name, (mask, previous, expected) in masks.items():
        got = report[name]
        assert_framing(got, ref_framing(mask, limits, previous))
        if expected:
            assert got["cue"] == expected, (name, got)

    gate = report["gate"]
    assert gate["answers"][:3] == [True, False, False]
    assert gate["answers"][4:6] == [True, False] and gate["answers"][7] is True
    assert gate["answers"][9] is True  # after abort() the gate is open again
    stats = gate["stats"]
    assert stats["processed"] == 3 and stats["dropped"] == 4 and stats["offered"] == 8
    assert stats["fps"] == pytest.approx(1000 / (300 - 180))  # window of 2 completions
    assert stats["latencyMs"]["last"] == pytest.approx(67)
    assert stats["latencyMs"]["meanAll"] == pytest.approx((80 + 80 + 67) / 3)

    got = np.fromfile(tmp_path / "frame.out", np.uint8).reshape(128, 160, 3)
    assert np.array_equal(got, resize_uint8(frame[..., :3], 128, 160))
    got = np.fromfile(tmp_path / "big.out", np.uint8).reshape(192, 192, 3)
    working = resize_uint8(big[..., :3], 1365, 2048)  # the still path's working size first
    assert np.array_equal(got, resize_uint8(working, 192, 192))


def _live_images() -> list[tuple[np.ndarray, str]]:
    """Real dermoscopy images for the live video: two PH2 and two ISIC-2017 images."""
    root = shared_data_dir()
    found = []
    for folder, pattern in (
        (root / "PH2" / "images", "*.jpg"),
        (root / "ISIC2017" / "ISIC-2017_Training_Data", "ISIC_*.jpg"),
    ):
        files = sorted(folder.glob(pattern)) if folder.is_dir() else []
        found += [(p, folder.parent.name) for p in files[:: max(1, len(files) // 2)][:2]]
    if len(found) < 4:
        pytest.skip(f"real dermoscopy images (PH2, ISIC2017) not found under {root}")
    return [(np.asarray(Image.open(p).convert("RGB")), f"{ds} {p.name}") for p, ds in found]


@pytest.fixture(scope="module")
def live_video(tmp_path_factory) -> dict:
    """A y4m video from real dermoscopy images: each for LIVE_FRAMES_EACH frames, drifting a
    few pixels per frame (a hand-held phone), 640x480 at LIVE_CAMERA_FPS; Chromium loops it."""
    folder = tmp_path_factory.mktemp("web_live")
    w, h = LIVE_SIZE
    margin = 16
    frames, labels = [], []
    per_image = LIVE_FRAMES_EACH
    for image, label in _live_images():
        big = np.asarray(
            Image.fromarray(image).resize((w + 2 * margin, h + 2 * margin), Image.BILINEAR)
        )
        for k in range(per_image):
            angle = 2 * np.pi * k / per_image
            dx = int(round(margin + 0.6 * margin * np.cos(angle)))
            dy = int(round(margin + 0.6 * margin * np.sin(angle)))
            frames.append(big[dy : dy + h, dx : dx + w])
        labels.append(label)
    path = folder / "live.y4m"
    write_y4m_frames(path, frames, fps=LIVE_CAMERA_FPS)
    return {"path": path, "frames": np.stack(frames), "labels": labels}


@pytest.fixture(scope="module")
def live_browser(server, live_video, tmp_path_factory) -> dict:
    """The live preview in its own Chromium (the live video as fake camera, precise memory
    figures, a callable gc()): LIVE_FRAMES processed frames with LiteRT.js threads (the page is
    cross-origin isolated) and again single-threaded (?threads=0)."""
    chromium = ensure_chromium()
    out = tmp_path_factory.mktemp("web_live_browser")
    config = {
        "baseUrl": server,
        "outDir": str(out),
        "chromium": str(chromium),
        "y4m": str(live_video["path"]),
        "scenarios": ["live"],
        "extraArgs": ["--enable-precise-memory-info", "--js-flags=--expose-gc"],
        "live": {
            "frames": LIVE_FRAMES,
            "warmup": LIVE_WARMUP,
            "variants": [
                {"name": "threads", "query": "", "screenshot": "live.png"},
                {"name": "single", "query": "?threads=0"},
            ],
        },
    }
    config_path = out / "config.json"
    config_path.write_text(json.dumps(config))
    start = time.monotonic()
    report = run_node("browser_check.mjs", config_path, timeout=900)
    seconds = time.monotonic() - start
    ARTIFACTS.mkdir(exist_ok=True)
    for item in out.iterdir():
        if item.suffix == ".png" or item.name == "report.json":
            target = "live_report.json" if item.name == "report.json" else item.name
            shutil.copy(item, ARTIFACTS / target)
    return {"report": report, "out": out, "seconds": seconds}


def live_figures(v: dict) -> dict:
    """fps over the LIVE_FRAMES frames after the warm-up (page clock), latency, memory growth."""
    s = v["final"]["stats"]
    seconds = (v["final"]["t"] - v["t0"]) / 1000
    return {
        "threads": v["modelInfo"]["threads"],
        "fps": s["processed"] / seconds,
        "frames_measured": s["processed"],
        "seconds": seconds,
        "latency_ms_mean": s["latencyMs"]["meanAll"],
        "latency_ms_median_last30": s["latencyMs"]["median"],
        "inference_ms_mean": v["final"]["inferenceMsMean"],
        "camera_fps": LIVE_CAMERA_FPS,
        "dropped": s["dropped"],
        "offered": s["offered"],
        "heap_bytes_start": v["heapStart"]["heap"],
        "heap_bytes_end": v["heapEnd"]["heap"],
        "heap_growth_bytes": v["heapEnd"]["heap"] - v["heapStart"]["heap"],
        "wasm_bytes_start": v["heapStart"]["wasm"],
        "wasm_bytes_end": v["heapEnd"]["wasm"],
    }


def test_live_preview_fps_memory_and_agreement(live_browser, live_video, models_dir):
    """Issue 17: live segmentation of the fake camera's dermoscopy video at >= 10 fps at the
    model's input size, no memory growth over LIVE_FRAMES frames, the live mask equal to the
    Python runtime's on the same frame, a framing cue, and capture still works after it."""
    import base64

    from mininet_lite.runtime import TFLiteSegmenter
    from mininet_lite.tiling import resize_uint8

    report = scenario(live_browser, "live")
    seg = TFLiteSegmenter(models_dir / f"{INT8}.tflite", threads=1)
    th, tw = seg.policy.size
    figures = {}
    for name in ("threads", "single"):
        v = report[name]
        assert v["cameraState"] == "camera", v.get("text")
        assert v["final"]["error"] is None, v["final"]["error"]
        assert v["final"]["crossOriginIsolated"] is True  # serve_web's COOP/COEP headers
        assert v["modelInfo"]["size"] == [th, tw]
        figures[name] = f = live_figures(v)
        assert f["frames_measured"] >= LIVE_FRAMES
        # Frames are dropped, never queued: what was offered is either processed or dropped
        # (at most the one in flight is neither).
        s = v["final"]["stats"]
        assert s["offered"] - s["processed"] - s["dropped"] in (0, 1), s
        assert f["heap_bytes_start"] and f["heap_bytes_end"], "performance.memory not available"
        assert v["heapStart"]["gc"] and v["heapEnd"]["gc"], "no gc() (--js-flags=--expose-gc)"
        assert f["heap_growth_bytes"] < MAX_HEAP_GROWTH, f
        # The runtime's WebAssembly memory only grows; a leaked tensor per frame would show.
        assert f["wasm_bytes_end"] == f["wasm_bytes_start"], f

        # The frame the page processed is the video (not Chromium's test pattern) ...
        snap = v["snapshot"]["last"]
        frame = np.asarray(Image.open(v["snapshot"]["framePath"]).convert("RGB"))
        assert frame.shape[:2] == (LIVE_SIZE[1], LIVE_SIZE[0])
        diffs = np.abs(live_video["frames"].astype(np.int16) - frame.astype(np.int16)).mean(
            axis=(1, 2, 3)
        )
        assert diffs.min() < 8, f"live frame is not from the video (closest {diffs.min():.1f})"
        # ... its model input is the still path's (Pillow-exact bilinear to the card's size) ...
        page_input = np.frombuffer(base64.b64decode(snap["input"]), np.uint8).reshape(th, tw, 3)
        assert np.array_equal(page_input, resize_uint8(frame, th, tw))
        # ... and the live mask is the Python runtime's on that input.
        page_mask = np.frombuffer(base64.b64decode(snap["mask"]), np.uint8).reshape(th, tw)
        ref = seg.forward(page_input[None])[0, ..., 0] >= np.float32(seg.threshold)
        value = agreement(page_mask.astype(bool), ref)
        record_agreement(f"int8_live_{name}", value, size=[th, tw])
        assert value >= MIN_AGREEMENT
        # Every frame of the video shows a lesion: the cue says found, and it is the
        # reference's reading of the page's mask.
        cue = snap["cue"]
        assert cue["found"] is True, cue
        assert v["snapshot"]["cueText"] == cue["message"]
        ref_cue = ref_framing(page_mask.astype(bool), v["snapshot"]["framingLimits"])
        # (the steadiness needs the frame before, which the snapshot does not keep)
        assert_framing(cue, ref_cue | {"stability": cue["stability"], "cue": cue["cue"]})
        if cue["cue"] not in ("ready", "hold-steady"):
            assert cue["cue"] == ref_cue["cue"]
        # Capture after live: the normal still path on the full-resolution frame.
        assert v["captureState"] == "done"
        assert v["captureResult"]["source"] == "camera"
        assert v["captureResult"]["analysed_image"]["width"] == LIVE_SIZE[0]
        assert v["afterCapture"] == {
            "liveRunning": False,
            "overlayHidden": True,
            "videoHidden": True,
        }
        assert v["log"]["pageErrors"] == []
    print(f"live preview ({live_browser['seconds']:.0f} s): {json.dumps(figures, indent=1)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "live_figures.json").write_text(json.dumps(figures, indent=2))
    assert figures["threads"]["threads"] > 1, "the cross-origin isolated page runs one thread"
    assert figures["single"]["threads"] == 1
    assert figures["threads"]["fps"] >= MIN_LIVE_FPS, figures
