"""Inference latency of several trained models side by side (e.g. Mini-Net vs the U-Net).

    python benchmarks/compare_latency.py \\
        --model mininet=benchmarks/results/runs/ph2/best.keras \\
        --model unet=benchmarks/results/runs/ph2_unet/best.keras \\
        --size 192 192 --size 512 512 --data-dir ../shared/data/PH2 --out ph2

Every model is exported at each ``--size`` to float32 and post-training int8 `.tflite`
(`mininet_tf.export.export`; int8 calibrated on ``--calib-samples`` training images of the
model card's dataset in ``--data-dir``), then timed with the workers of `benchmarks/edge.py`:
Keras float (graph-mode `tf.function`), LiteRT float32 and LiteRT int8, one interpreter thread
(``--threads``), all models of one size interleaved in short bursts so load changes on a
shared machine hit them alike. Reported per model and runtime: median wall time, median CPU
time per call (with one thread, the cost on an idle core) and p10/p90, plus parameters, MACs
and file sizes. Writes ``benchmarks/results/latency_<out>.json``; models go to
``benchmarks/results/edge/latency_<out>/`` (not committed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tflite"), str(Path(__file__).resolve().parent)]

import edge  # noqa: E402  (benchmarks/edge.py: the timing workers)
import results_json  # noqa: E402

RUNTIMES = (("keras", "keras_graph"), ("float32", "litert"), ("int8", "litert"))


def model_facts(path: Path, sizes) -> dict:
    import keras

    from mininet_tf.model import count_macs, parameter_counts

    model = keras.models.load_model(path, compile=False)
    return {
        "path": str(path),
        "parameters": parameter_counts(model)["total"],
        "macs": {f"{h}x{w}": count_macs(model, h, w) for h, w in sizes},
    }


def run(args) -> dict:
    from mininet_tf.export import export

    models = {}
    for item in args.model:
        name, _, path = item.partition("=")
        if not name or not path or not Path(path).is_file():
            raise SystemExit(f"--model {item!r}: expected NAME=PATH to an existing .keras file")
        models[name] = Path(path)
    sizes = [tuple(s) for s in args.size]
    work = ROOT / "benchmarks" / "results" / "edge" / f"latency_{args.out}"
    work.mkdir(parents=True, exist_ok=True)
    result = {
        **results_json.header(__file__),
        "threads": args.threads,
        "models": {name: model_facts(path, sizes) for name, path in models.items()},
        "sizes": {},
    }
    for h, w in sizes:
        entries = []
        for name, path in models.items():
            entries.append((name, "keras_graph", sys.executable, path))
            for mode in ("float32", "int8"):
                out = work / f"{name}_{h}x{w}_{mode}.tflite"
                if not (args.reuse and out.is_file()):
                    export(
                        path,
                        out,
                        mode,
                        size=(h, w),
                        calib_data=args.data_dir,
                        calib_samples=args.calib_samples,
                        overwrite=True,
                    )
                result["models"][name].setdefault("file_bytes", {})[f"{h}x{w}_{mode}"] = (
                    out.stat().st_size
                )
                entries.append((f"{name}_{mode}", "litert", sys.executable, out))
        spec = {"size": [h, w], "threads": args.threads, "warmup": args.warmup}
        started = time.time()
        timed = edge.measure_group(entries, spec, args.rounds, args.burst_runs, args.burst_seconds)
        rows = {f"{label} ({runtime})": value for (label, runtime), value in timed.items()}
        result["sizes"][f"{h}x{w}"] = {"seconds": time.time() - started, "rows": rows}
        print(f"\n{h}x{w}, {args.threads} thread(s):")
        for key, value in rows.items():
            if "error" in value:
                print(f"  {key:32s} error: {value['error']}")
            else:
                print(
                    f"  {key:32s} median {value['median_ms']:8.2f} ms wall, "
                    f"{value['median_cpu_ms']:8.2f} ms CPU ({value['runs']} runs)"
                )
    results_json.write(f"latency_{args.out}", result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH.keras")
    parser.add_argument("--size", type=int, nargs=2, action="append", metavar=("H", "W"))
    parser.add_argument("--data-dir", required=True, help="calibration data (the card's dataset)")
    parser.add_argument("--out", required=True, help="name of the result file")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calib-samples", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--burst-runs", type=int, default=3)
    parser.add_argument("--burst-seconds", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true", help="reuse exported files")
    args = parser.parse_args(argv)
    args.size = args.size or [[192, 192]]
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
