"""Golden files for the Android app's pure-Kotlin core (`dev.mininet.demo.core`).

    python android_demo/tools/make_goldens.py \
        [--model tflite/models/mininet_isic2017_fast_int8.tflite] \
        [--out android_demo/app/src/test/resources/golden]

Python runs the int8 model on small synthetic dermoscopy images
(`mininet_tf.data.synthetic.generate("lesions", ...)`) and writes, per sample: the image, the
exact model input tensor, the raw (quantised) model output, the expected masks for every
post-processing option, and the expected measurements and overlay digest. `GoldenTest.kt` then
checks that the Kotlin core reproduces the input bytes exactly and, from the same raw output,
the masks and measurements exactly. Resize-only cases (patterns both sides compute from a
formula, no model needed) cover large downscales that would not fit in small files.

Everything is computed with the numpy re-implementation of Pillow's BILINEAR resize in
`pillow_resample.py` (the app's contract) and *checked* against `mininet_lite` (Pillow) before it
is written: the generator refuses to write goldens if the two paths disagree on a single input
byte or mask pixel. The post-processing and measurements here are independent implementations
(OpenCV connected components, numpy), not translations of the Kotlin code.

Re-running with the same model and package versions rewrites identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tflite"))

import pillow_resample  # noqa: E402

DEFAULT_MODEL = REPO / "tflite" / "models" / "mininet_isic2017_fast_int8.tflite"
DEFAULT_OUT = REPO / "android_demo" / "app" / "src" / "test" / "resources" / "golden"
FORMAT = "mininet_android.golden/1"

#: (name, (H, W), seed): landscape, portrait upscale, model-sized (identity resize).
#: Not a shrink in one direction with an enlargement in the other: Pillow 13 then sometimes
#: runs its vertical pass first (seen: 160x96 -> 128x128), which our contract and the app
#: (horizontal first, tools/pillow_resample.py) differ from by at most 1 grey level.
SAMPLES = (
    ("landscape", (144, 192), 7),
    ("portrait", (112, 72), 11),
    ("square", None, 3),  # None: the model's input size
)
#: The option combinations the app offers, in the app's order (largest first, then holes).
VARIANTS = {
    "plain": (False, False),
    "largest": (True, False),
    "filled": (False, True),
    "largest_filled": (True, True),
}
#: Overlay parameters checked by digest: opaque-ish red, outline on.
OVERLAY = {"color": 0xFFE53935, "alpha": 110, "outline": True}
#: A field of view for the mm measurements (25 mm across the shorter side of the image).
FOV_MM = 25.0
#: (in H, in W, out H, out W) for the formula-pattern resize cases (uint8 RGB and float32).
RESIZE_CASES = (
    (1200, 900, 192, 192),  # big downscale: the phone-photo path
    (150, 110, 37, 29),
    (37, 29, 192, 192),
    (192, 192, 301, 257),
    (97, 300, 97, 61),  # one axis only
)


# === Contract pieces shared with the Kotlin core (see the .kt files for the same rules) ===


def pattern_uint8(height: int, width: int) -> np.ndarray:
    """`Patterns.rgb` in Kotlin: deterministic texture with edges at every scale."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    channels = [(x * 31 + y * 17 + c * 85 + ((x * y) % 23) * 7) % 256 for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def pattern_float(height: int, width: int) -> np.ndarray:
    """`Patterns.prob` in Kotlin: values on a 1/100 grid, computed as float32 division."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    return (((x * 13 + y * 7) % 101).astype(np.float32) / np.float32(100.0)).astype(np.float32)


def dequantize(raw: np.ndarray, dtype: str, scale: float | None, zero_point: int | None):
    """As `mininet_lite.runtime`: ``(q - zero_point) * scale`` in float32."""
    if dtype in ("uint8", "int8"):
        q = raw.view(np.int8) if dtype == "int8" else raw
        return ((q.astype(np.float32) - zero_point) * scale).astype(np.float32)
    return raw.view("<f4").astype(np.float32)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the largest 8-connected foreground component; ties: first in raster order."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return mask.copy()
    areas = stats[1:, cv2.CC_STAT_AREA]
    best = np.flatnonzero(areas == areas.max()) + 1
    flat = labels.ravel()
    first = [int(np.argmax(flat == label)) for label in best]
    keep = best[int(np.argmin(first))]
    return (labels == keep).astype(np.uint8)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions (4-connected) that do not touch the image border."""
    import cv2

    background = (mask == 0).astype(np.uint8)
    _, labels = cv2.connectedComponents(background, connectivity=4)
    border = np.unique(
        np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])[
            np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]]) > 0
        ]
    )
    holes = (background > 0) & ~np.isin(labels, border)
    return (mask.astype(bool) | holes).astype(np.uint8)


def postprocess(mask: np.ndarray, largest: bool, holes: bool) -> np.ndarray:
    out = mask.astype(np.uint8)
    if largest:
        out = largest_component(out)
    if holes:
        out = fill_holes(out)
    return out


def measure(mask: np.ndarray, fov_mm: float | None = None) -> dict:
    """The numbers `Measurements.kt` reports, in float64 (same formulas, not the same code)."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    area = int(xs.size)
    out = {
        "area_px": area,
        "area_fraction": area / float(width * height),
        "equivalent_diameter_px": math.sqrt(4.0 * area / math.pi),
        "bbox": None,
        "centroid": None,
    }
    if area:
        out["bbox"] = {
            "x": int(xs.min()),
            "y": int(ys.min()),
            "width": int(xs.max() - xs.min() + 1),
            "height": int(ys.max() - ys.min() + 1),
        }
        # Integer sums first, one division each: exact in float64 on both sides.
        out["centroid"] = {"x": int(xs.sum()) / area, "y": int(ys.sum()) / area}
    if fov_mm is not None:
        mm = fov_mm / min(width, height)
        out["mm_per_px"] = mm
        out["area_mm2"] = area * mm * mm
        out["equivalent_diameter_mm"] = out["equivalent_diameter_px"] * mm
    return out


def overlay_rgb(image: np.ndarray, mask: np.ndarray, color: int, alpha: int, outline: bool):
    """`Overlay.kt`: per channel ``(s * (255 - a) + c * a + 127) // 255`` inside the mask;
    mask pixels with a 4-neighbour outside (or on the image border) get the colour itself."""
    rgb = np.array([(color >> 16) & 255, (color >> 8) & 255, color & 255], np.int64)
    src = image.astype(np.int64)
    blended = (src * (255 - alpha) + rgb * alpha + 127) // 255
    m = mask.astype(bool)
    out = np.where(m[..., None], blended, src)
    if outline:
        padded = np.pad(m, 1, constant_values=False)
        inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        edge = m & ~inner
        out = np.where(edge[..., None], rgb, out)
    return out.astype(np.uint8)


def sha256(data: bytes | np.ndarray) -> str:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()


def float_bits(value) -> int:
    """The IEEE-754 bits of a float32, so JSON carries it exactly."""
    return int(np.asarray(value, np.float32).reshape(1).view(np.uint32)[0])


def probes(height: int, width: int, count: int = 24) -> list[tuple[int, int]]:
    """Deterministic probe positions (corners, centre, a diagonal) for float checks."""
    points = {(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)}
    points.add((width // 2, height // 2))
    for i in range(count):
        points.add(((i * 37 + 5) % width, (i * 53 + 3) % height))
    return sorted(points)


# === Writing ===


def read_card(model: Path) -> dict:
    path = model.with_suffix(".json")
    if not path.is_file():
        raise SystemExit(f"{path}: model card missing (the app and the goldens read it)")
    return json.loads(path.read_text())


def write_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    # No ancillary chunks (gAMA, iCCP): decoders must hand back the stored bytes unchanged.
    Image.fromarray(array).save(path, format="PNG", optimize=True)


def run_model(model: Path, batch: np.ndarray) -> np.ndarray:
    """Raw output tensor (quantised, as stored in the model) for one (1, h, w, 3) uint8 input."""
    from mininet_lite.runtime import load_interpreter

    interpreter = load_interpreter(model, threads=1)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    interpreter.set_tensor(inp["index"], batch)
    interpreter.invoke()
    return np.array(interpreter.get_tensor(out["index"]))


def check_against_pillow(image: np.ndarray, size, prob_small: np.ndarray, threshold: float):
    """The Pillow path of `mininet_lite.tiling` vs this module's: returns agreement numbers."""
    from mininet_lite import tiling

    th, tw = size
    ours_in = pillow_resample.resize_uint8(image, th, tw)
    pil_in = tiling.resize_uint8(image, th, tw)
    h, w = image.shape[:2]
    ours_prob = pillow_resample.resize_float(prob_small, h, w)
    pil_prob = tiling.resize_float(prob_small, h, w)
    ours_mask = ours_prob >= threshold
    pil_mask = pil_prob >= threshold
    return {
        "input_bytes_equal": bool(np.array_equal(ours_in, pil_in)),
        "input_max_abs_diff": int(np.abs(ours_in.astype(int) - pil_in.astype(int)).max()),
        "prob_max_abs_diff": float(np.abs(ours_prob - pil_prob).max()),
        "mask_agreement": float((ours_mask == pil_mask).mean()),
    }


def make(model: Path, out: Path) -> dict:
    from mininet_tf.data.synthetic import generate

    card = read_card(model)
    _, th, tw, _ = card["input"]["shape"]
    o = card["output"]
    threshold = float(card["threshold"])
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "generator": "android_demo/tools/make_goldens.py",
        "model": {
            "file": model.name,
            "sha256": sha256(model.read_bytes()),
            "card_format": card.get("format"),
            "card_input_policy": card.get("input_policy"),
            "input_height": int(th),
            "input_width": int(tw),
            "output_dtype": o["dtype"],
            "output_scale": o.get("scale"),
            "output_zero_point": o.get("zero_point"),
            "threshold": threshold,
            "threshold_quantized": card.get("threshold_quantized"),
        },
        "versions": _versions(),
        "overlay": OVERLAY,
        "fov_mm": FOV_MM,
        "samples": [],
        "resize_cases": [],
    }
    for name, size, seed in SAMPLES:
        h, w = size or (th, tw)
        images, _, _ = generate("lesions", 1, size=(h, w), seed=seed)
        image = images[0]
        tensor = pillow_resample.resize_uint8(image, th, tw)
        raw = run_model(model, tensor[None])[0]
        prob_small = dequantize(raw, o["dtype"], o.get("scale"), o.get("zero_point"))[..., 0]
        agreement = check_against_pillow(image, (th, tw), prob_small, threshold)
        if not agreement["input_bytes_equal"] or agreement["mask_agreement"] != 1.0:
            raise SystemExit(f"{name}: numpy resize disagrees with Pillow: {agreement}")
        prob = pillow_resample.resize_float(prob_small, h, w)
        # numpy 2 compares float32 with a Python float in float32 (NEP 50); Kotlin does too.
        mask = (prob >= threshold).astype(np.uint8)

        write_png(out / f"{name}_image.png", image)
        write_png(out / f"{name}_input.png", tensor)
        (out / f"{name}_output.bin").write_bytes(np.ascontiguousarray(raw).tobytes())
        sample = {
            "name": name,
            "seed": seed,
            "width": w,
            "height": h,
            "image": f"{name}_image.png",
            "input": f"{name}_input.png",
            "input_sha256": sha256(tensor),
            "output": f"{name}_output.bin",
            "output_sha256": sha256(raw),
            "prob_probes": [
                {"x": x, "y": y, "bits": float_bits(prob[y, x])} for x, y in probes(h, w)
            ],
            "prob_sha256": sha256(prob.astype("<f4")),
            "pillow_agreement": agreement,
            "variants": {},
        }
        for variant, (largest, holes) in VARIANTS.items():
            vmask = postprocess(mask, largest, holes)
            write_png(out / f"{name}_mask_{variant}.png", (vmask * 255).astype(np.uint8))
            sample["variants"][variant] = {
                "largest_component": largest,
                "fill_holes": holes,
                "mask": f"{name}_mask_{variant}.png",
                "mask_sha256": sha256(vmask),
                "measurements": measure(vmask, FOV_MM),
                "overlay_rgb_sha256": sha256(overlay_rgb(image, vmask, **OVERLAY)),
            }
        manifest["samples"].append(sample)

    for ih, iw, oh, ow in RESIZE_CASES:
        rgb = pillow_resample.resize_uint8(pattern_uint8(ih, iw), oh, ow)
        prob = pillow_resample.resize_float(pattern_float(ih, iw), oh, ow)
        manifest["resize_cases"].append(
            {
                "in_height": ih,
                "in_width": iw,
                "out_height": oh,
                "out_width": ow,
                "rgb_sha256": sha256(rgb),
                "rgb_probes": [
                    {"x": x, "y": y, "rgb": [int(v) for v in rgb[y, x]]} for x, y in probes(oh, ow)
                ],
                "float_sha256": sha256(prob.astype("<f4")),
                "float_probes": [
                    {"x": x, "y": y, "bits": float_bits(prob[y, x])} for x, y in probes(oh, ow)
                ],
            }
        )
    # The card itself, so the Kotlin ModelCard parser is tested on a real exported card.
    (out / "model_card.json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _versions() -> dict:
    from importlib import metadata

    versions = {}
    for dist in ("numpy", "pillow", "opencv-python-headless", "ai-edge-litert"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="int8 .tflite + .json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="golden folder")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"error: {args.model}: no model (export one first)", file=sys.stderr)
        return 2
    manifest = make(args.model, args.out)
    for sample in manifest["samples"]:
        m = sample["variants"]["plain"]["measurements"]
        print(
            f"{sample['name']}: {sample['width']}x{sample['height']}, "
            f"lesion {100 * m['area_fraction']:.1f}% , Pillow agreement "
            f"{sample['pillow_agreement']['mask_agreement']:.4f}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
