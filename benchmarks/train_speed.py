"""Keras training-step throughput of Mini-Net: float32 vs mixed_bfloat16, per input size.

    python benchmarks/train_speed.py --sizes 192 256 --batch-size 8

Times ``model.fit`` on in-memory random tensors (no input pipeline, so only the training step
is measured) after one warm-up epoch, each precision in its own child process (the Keras dtype
policy is global). Prints samples/s and writes ``benchmarks/results/train_speed.json`` with the
CPU model and its bf16-relevant flags: whether mixed_bfloat16 pays off depends on the CPU
(AVX512-BF16 / AMX) and is decided by measuring, not assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
import keras, numpy as np
precision, size, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
keras.config.set_dtype_policy(precision)
from mininet_tf.losses import CombinedLoss
from mininet_tf.model import build_mininet
model = build_mininet()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=CombinedLoss.from_alpha(0.5))
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (batch * steps, size, size, 3)).astype("float32")
y = (rng.uniform(size=(batch * steps, size, size, 1)) > 0.7).astype("float32")
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
started = time.perf_counter()
model.fit(x, y, batch_size=batch, epochs=2, verbose=0)
print(json.dumps({"samples_per_second": 2 * batch * steps / (time.perf_counter() - started)}))
"""


def cpu_facts() -> dict:
    facts = {"cpu_count": os.cpu_count(), "platform": platform.platform()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return facts
    for line in text.splitlines():
        if line.startswith("model name") and "model" not in facts:
            facts["model"] = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            facts["flags"] = sorted(
                f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma")
            )
            break
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[192, 256])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6, help="steps per timed epoch")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/train_speed.json"))
    args = parser.parse_args()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tflite'}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    rows = []
    for size in args.sizes:
        for precision in ("float32", "mixed_bfloat16"):
            command = [
                sys.executable,
                "-c",
                CHILD,
                precision,
                str(size),
                str(args.batch_size),
                str(args.steps),
            ]
            proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"{precision} at {size}: child failed\n{proc.stderr[-2000:]}")
            speed = json.loads(proc.stdout.strip().splitlines()[-1])["samples_per_second"]
            rows.append(
                {
                    "size": size,
                    "precision": precision,
                    "batch_size": args.batch_size,
                    "samples_per_second": speed,
                }
            )
            print(f"{size}x{size} {precision:>15}: {speed:.2f} samples/s", flush=True)
    sys.path.insert(0, str(ROOT))
    from mininet_lite.files import atomic_write_json

    payload = {
        "command": " ".join(["python", "benchmarks/train_speed.py", *sys.argv[1:]]),
        "what": "Keras fit on in-memory tensors, Mini-Net default widths, Adam, combined loss; "
        "mean over 2 epochs after a warm-up epoch",
        "results": rows,
        "machine": cpu_facts(),
    }
    atomic_write_json(Path(args.out), payload, indent=2)


if __name__ == "__main__":
    main()
