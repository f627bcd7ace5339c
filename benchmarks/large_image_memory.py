"""Peak memory of segmenting one large photo: Keras (tiled) and LiteRT, each in a fresh process.

    python benchmarks/large_image_memory.py --model mininet_tf/pretrained/mininet_drive.keras \
        --tflite tflite/models/mininet_drive_int8.tflite --size 4000 6000

Generates a deterministic synthetic RGB photo of the given H x W, writes it as PNG, and runs
`mininet_tf.inference.load_segmenter(...).predict` on it in a child process per runtime (and
per Keras tile size), reporting the child's peak resident memory (``ru_maxrss``) and the wall
time. Writes ``benchmarks/results/large_image_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
import numpy as np
from PIL import Image
from mininet_tf.inference import KerasSegmenter, load_segmenter
from mininet_lite.tiling import InputPolicy
path, model, tile = sys.argv[1], sys.argv[2], int(sys.argv[3])
Image.MAX_IMAGE_PIXELS = None
image = np.asarray(Image.open(path).convert("RGB"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if model.endswith(".keras") and tile:
    seg = KerasSegmenter(model)
    seg.policy = InputPolicy("tile", (tile, tile), seg.policy.overlap, seg.policy.multiple)
else:
    seg = load_segmenter(model)
started = time.perf_counter()
prob = seg.predict(image)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_mb": peak / 1024, "rss_before_predict_mb": before / 1024,
                  "seconds": seconds, "shape": list(prob.shape)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=".keras model (tile policy)")
    parser.add_argument("--tflite", help="its .tflite export")
    parser.add_argument("--size", type=int, nargs=2, default=[4000, 6000], metavar=("H", "W"))
    parser.add_argument("--keras-tiles", type=int, nargs="+", default=[1024, 512])
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/large_image_memory.json"))
    args = parser.parse_args()
    import numpy as np
    from PIL import Image

    h, w = args.size
    rng = np.random.default_rng(0)
    # Smooth random colour field (a photo-like image, cheap to generate at any size).
    small = rng.integers(0, 256, (h // 50 + 1, w // 50 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((w, h), Image.BILINEAR)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tflite'}"}
    runs = [(args.model, t) for t in args.keras_tiles] + ([(args.tflite, 0)] if args.tflite else [])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.png"
        image.save(path, compress_level=1)
        for model, tile in runs:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(model), str(tile)],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode != 0:
                raise SystemExit(f"{model}: child failed:\n{done.stderr[-3000:]}")
            row = {"model": str(model), "keras_tile": tile or None}
            row.update(json.loads(done.stdout.strip().splitlines()[-1]))
            results.append(row)
            print(json.dumps(row), flush=True)
    payload = {
        "command": " ".join(["python", "benchmarks/large_image_memory.py", *sys.argv[1:]]),
        "image_size": [h, w],
        "results": results,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
    }
    from mininet_lite.files import atomic_write_json

    atomic_write_json(Path(args.out), payload, indent=2)


if __name__ == "__main__":
    main()
