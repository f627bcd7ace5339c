"""Edge benchmark: quality per export mode, then latency, load time, memory and size per runtime.

    python benchmarks/edge.py --dataset drive --data-dir ../shared/data/DRIVE \\
        [--tflite-runtime-python /tmp/venv_tflrt/bin/python] [--ship]

For the pretrained `mininet_tf/pretrained/mininet_<dataset>.keras` (or ``--model``):

1. Exports float32, float16, dynamic and int8 (post-training) at the card's export size, and
   runs quantization-aware training (`mininet_tf.quantize`, ``--qat-epochs`` x
   ``--qat-steps``) for the QAT int8 file; every file's card holds its test metrics.
2. Quality on the split the quality benchmark reported (the test split: DRIVE's official one,
   PH2's own; validation for a model trained on all its labelled data, MoNuSeg): Keras float
   with its own card policy (= the quality benchmark) and with the export geometry (the tiles
   the `.tflite` files see), and every `.tflite` file.
3. Latency at 256x256, 512x512 (and DRIVE's native 584x565, run as 584x568): Keras float
   (graph-mode `tf.function`, and eager calls as `KerasSegmenter` makes them), and every
   `.tflite` on LiteRT and (if ``--tflite-runtime-python`` names a Python with tflite-runtime)
   on tflite-runtime, 1 and 2 threads. One worker process (this file with ``--worker``) per
   model, runtime and thread count loads the model (load time = load + first call) and does
   the warm-up calls; the workers of one size and thread count are then timed interleaved
   (``--rounds`` rounds of short bursts), so load changes on a shared machine hit them alike.
   Reported: median wall time, median CPU time of the worker per call (with 1 thread: the
   cost on an idle core), p10/p90, peak RSS (VmHWM), MACs and GMAC/s. ``--skip-latency``
   measures quality only (the graph, hence the latency, is the same for every dataset).

Writes ``benchmarks/results/edge_<dataset>.json`` and ``.md`` (tables for docs/benchmarks.md);
models go to ``benchmarks/results/edge/<dataset>/``. ``--ship`` copies an int8 file and the
float16 file with their cards to ``tflite/models/mininet_<dataset>_{int8,float16}.tflite``; the
int8 file is the QAT or the post-training one, whichever scores the higher pooled F1 on the
validation split as served (``--ship-int8 val``, the default; the test split never chooses),
and its card records the choice (``int8_selection``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PTQ_MODES = ("float32", "float16", "dynamic", "int8")
NATIVE = {"drive": (584, 568)}


# === Worker (a fresh process per model/runtime/threads; imports only what it needs) ===


def _rss_mb() -> float:
    """Peak RSS of this process image in MB.

    /proc's VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across fork + exec, so a
    worker started by a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(spec: dict) -> None:
    """Load one model on one runtime, then serve timing bursts over stdin/stdout.

    Prints one JSON line after loading ({"load_seconds", "baseline_rss_mb"}), then for each
    input line ``"<runs> <seconds>"`` times up to ``runs`` calls (at least one, stopping once
    ``seconds`` have passed) and prints their durations; ``"quit"`` prints the peak RSS.
    """
    import numpy as np

    runtime, threads = spec["runtime"], int(spec["threads"])
    h, w = spec["size"]
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter
    elif runtime == "tflite_runtime":
        from tflite_runtime.interpreter import Interpreter
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras

        sys.path[:0] = [str(ROOT), str(ROOT / "tflite")]
        import mininet_tf  # noqa: F401  (registers custom objects)
    baseline = _rss_mb()
    x = np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    started = time.perf_counter()
    if runtime in ("litert", "tflite_runtime"):
        interpreter = Interpreter(model_path=spec["model"], num_threads=threads)
        interpreter.allocate_tensors()
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        if list(inp["shape"][1:3]) != [h, w]:
            raise ValueError(f"{spec['model']}: input {inp['shape']} is not {h}x{w}")

        def run():
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
            return interpreter.get_tensor(out["index"])

    else:
        model = keras.models.load_model(spec["model"], compile=False)
        xf = tf.constant(x.astype(np.float32))
        if runtime == "keras_graph":
            fn = tf.function(lambda t: model(t, training=False))

            def run():
                return fn(xf).numpy()

        else:

            def run():
                return np.asarray(model(xf, training=False))

    run()  # the first call (graph tracing, allocation) belongs to loading
    load = time.perf_counter() - started
    for _ in range(int(spec["warmup"])):
        run()
    print(json.dumps({"load_seconds": load, "baseline_rss_mb": baseline}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        runs, seconds = line.split()
        times = []
        end = time.perf_counter() + float(seconds)
        while len(times) < int(runs) and (not times or time.perf_counter() < end):
            c0, t0 = time.process_time(), time.perf_counter()
            run()
            times.append((time.perf_counter() - t0, time.process_time() - c0))
        print(json.dumps(times), flush=True)
    print(json.dumps({"peak_rss_mb": _rss_mb()}), flush=True)


class Worker:
    """A `worker` process driven from here."""

    def __init__(self, python: str, spec: dict):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        command = [python, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.info = self._read()
        self.times: list[float] = []

    def _read(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"worker exited with status {self.proc.wait()}")
            if line.startswith(("{", "[")):
                return json.loads(line)

    def burst(self, runs: int, seconds: float) -> None:
        self.proc.stdin.write(f"{runs} {seconds}\n")
        self.proc.stdin.flush()
        self.times.extend(self._read())

    def finish(self) -> dict:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.info.update(self._read())
        self.proc.wait()
        times = sorted(wall for wall, _ in self.times)
        cpu = sorted(c for _, c in self.times)
        n = len(times)
        return {
            **self.info,
            "median_ms": 1000 * times[n // 2],
            "p10_ms": 1000 * times[n // 10],
            "p90_ms": 1000 * times[min(n - 1, (9 * n) // 10)],
            # CPU time of the whole worker process per call: with 1 thread, the latency the
            # call would have on an idle core (robust to other jobs on a shared machine).
            "median_cpu_ms": 1000 * cpu[n // 2],
            "runs": n,
        }


def measure_group(entries, spec: dict, rounds: int, burst_runs: int, burst_seconds: float):
    """Time ``entries`` (label, runtime, python, path) interleaved: every round gives each a
    short burst, so load changes on a shared machine hit all of them alike."""
    workers = {}
    for label, runtime, python, path in entries:
        try:
            workers[(label, runtime)] = Worker(
                python, {**spec, "runtime": runtime, "model": str(path)}
            )
        except RuntimeError as exc:
            workers[(label, runtime)] = exc
    for _ in range(rounds):
        for w in workers.values():
            if isinstance(w, Worker):
                w.burst(burst_runs, burst_seconds)
    results = {}
    for key, w in workers.items():
        results[key] = w.finish() if isinstance(w, Worker) else {"error": str(w)}
    return results


# === Benchmark ===


def evaluated_split(card: dict) -> str:
    """The split the quality benchmark reported the model on: "test", or "val" for a model
    trained on every labelled image but validation (an empty test list in its split file)."""
    return card.get("benchmark", {}).get("evaluated_split", "test")


def quality_rows(model_path, files: dict, data_dir, dataset, export_policy) -> list[dict]:
    """Test-split quality of the Keras model (two geometries) and of every `.tflite`."""
    from mininet_lite.fundus import with_fov_width
    from mininet_tf.data import get_split, split_options
    from mininet_tf.evaluate import evaluate_records
    from mininet_tf.inference import KerasSegmenter

    card = json.loads(Path(model_path).with_suffix(".json").read_text())
    records = get_split(
        dataset, data_dir, evaluated_split(card), **split_options(card.get("config", {}))
    )
    rows = []
    keys = ("f1", "dice", "iou", "auc", "sensitivity", "specificity")
    for label, policy in (("keras float (card policy)", None), ("keras float", export_policy)):
        # As served: a model trained on normalised fundus images resamples them (its card).
        segmenter = with_fov_width(KerasSegmenter(model_path, policy=policy), None)
        result = evaluate_records(segmenter, records)
        rows.append(
            {
                "model": label,
                "file": Path(model_path).name,
                "policy": segmenter.policy.to_dict(),
                "threshold": segmenter.threshold,
                "size_bytes": Path(model_path).stat().st_size,
                **{k: result["pooled"][k] for k in keys},
                "per_image_f1": result["per_image"]["f1"],
            }
        )
    for label, path in files.items():
        tcard = json.loads(Path(path).with_suffix(".json").read_text())
        metrics = tcard["metrics"]
        rows.append(
            {
                "model": label,
                "file": Path(path).name,
                "policy": tcard["input_policy"],
                "threshold": tcard["threshold"],
                "threshold_quantized": tcard.get("threshold_quantized"),
                "size_bytes": tcard["size_bytes"],
                **{k: metrics["pooled"][k] for k in keys},
                "per_image_f1": metrics["per_image"]["f1"],
            }
        )
    reference = rows[1]
    for row in rows:
        row["delta_f1_vs_keras"] = row["f1"] - reference["f1"]
    return rows


INT8_LABELS = {"qat": "int8 QAT", "ptq": "int8 PTQ"}


def choose_int8(files: dict, dataset: str, data_dir, rule: str) -> dict:
    """Which int8 file to ship: ``qat``, ``ptq``, or ``val``: the one with the higher pooled F1
    on the validation split, each as served (its card's threshold and resampling), ties to QAT.
    QAT usually wins, but its short fine-tune can also cost more than calibration alone."""
    if rule != "val":
        return {"rule": f"--ship-int8 {rule}", "shipped": INT8_LABELS[rule]}
    from mininet_tf.evaluate import evaluate

    scores = {
        label: evaluate(files[label], dataset, data_dir, "val")["pooled"]["f1"]
        for label in INT8_LABELS.values()
    }
    shipped = max(scores, key=lambda label: (scores[label], label == "int8 QAT"))
    return {
        "rule": "higher pooled f1 on the validation split as served, at each file's card "
        "threshold; ties to QAT",
        "val_f1": scores,
        "shipped": shipped,
    }


def ship_files(files: dict, name: str, selection: dict, dest: Path) -> None:
    """Copy the chosen int8 file and the float16 file with their cards into ``dest``."""
    from mininet_tf.data.records import atomic_write_bytes
    from mininet_tf.inference import write_card
    from mininet_tf.metadata import stamped_model

    dest.mkdir(parents=True, exist_ok=True)
    for label, target in (
        (selection["shipped"], dest / f"mininet_{name}_int8.tflite"),
        ("float16", dest / f"mininet_{name}_float16.tflite"),
    ):
        src = Path(files[label])
        data = src.read_bytes()
        card = json.loads(src.with_suffix(".json").read_text())
        if target.stem != src.stem:  # the embedded metadata names the file
            data, card = stamped_model(data, target.stem, card)
        card["model_file"] = target.name
        if label in INT8_LABELS.values():
            card["int8_selection"] = selection
        # The card first: an interrupted copy leaves a file its card does not describe, which
        # loading refuses (sha256), rather than a model that silently lacks its new card.
        write_card(target, card)
        atomic_write_bytes(target, data)


def run(args) -> dict:
    sys.path[:0] = [str(ROOT), str(ROOT / "tflite")]
    from mininet_lite.tiling import InputPolicy
    from mininet_tf import export as ex
    from mininet_tf.model import count_macs
    from mininet_tf.quantize import quantize

    dataset = args.dataset
    name = dataset + ("_fast" if args.variant == "fast" else "")  # file and result names
    model_path = Path(args.model or ROOT / "mininet_tf" / "pretrained" / f"mininet_{name}.keras")
    work = Path(args.out_dir) / "edge" / name
    work.mkdir(parents=True, exist_ok=True)
    keras_model, card, policy = ex.load_source(model_path)
    started = time.time()
    timings = {}

    # --- 1. export every mode at the export size (cards hold test metrics) ---
    files = {}
    common = dict(
        eval_dataset=dataset,
        eval_data_dir=args.data_dir,
        eval_split=evaluated_split(card),
        overwrite=True,
    )
    for mode in PTQ_MODES:
        label = "int8 PTQ" if mode == "int8" else mode
        path = work / f"mininet_{name}_{mode}{'_ptq' if mode == 'int8' else ''}.tflite"
        t0 = time.time()
        if args.reuse and path.is_file() and path.with_suffix(".json").is_file():
            print(f"reusing {path}", flush=True)
        else:
            ex.export(
                model_path,
                path,
                mode,
                calib_dataset=dataset,
                calib_data=args.data_dir,
                calib_samples=args.calib_samples,
                **common,
            )
        timings[f"export {label}"] = time.time() - t0
        files[label] = path
    export_card = json.loads(files["float32"].with_suffix(".json").read_text())
    size = tuple(export_card["input"]["shape"][1:3])
    sizes = [(256, 256), (512, 512)] + ([NATIVE[dataset]] if dataset in NATIVE else [])
    qat_path = work / f"mininet_{name}_int8.tflite"
    t0 = time.time()
    if args.reuse and qat_path.is_file() and qat_path.with_suffix(".json").is_file():
        print(f"reusing {qat_path}", flush=True)
    else:
        quantize(
            model_path,
            qat_path,
            dataset=dataset,
            data_dir=args.data_dir,
            epochs=args.qat_epochs,
            steps_per_epoch=args.qat_steps,
            learning_rate=args.qat_learning_rate,
            extra_sizes=[] if args.skip_latency else [s for s in sizes if s != size],
            **common,
        )
    timings["quantization-aware training + export"] = time.time() - t0
    files["int8 QAT"] = qat_path

    # --- 2. quality ---
    t0 = time.time()
    previous = Path(args.out_dir) / f"edge_{name}.json"
    if args.reuse and previous.is_file() and "quality" in json.loads(previous.read_text()):
        quality = json.loads(previous.read_text())["quality"]
        print(f"reusing the quality rows of {previous}", flush=True)
    else:
        quality = quality_rows(
            model_path,
            files,
            args.data_dir,
            dataset,
            InputPolicy.from_dict(export_card["input_policy"]),
        )
    timings["quality evaluation"] = time.time() - t0

    # --- 3. latency ---
    if args.skip_latency:
        sizes = []
    t0 = time.time()
    latency_models = {}
    for s in sizes:
        h, w = s
        for mode in PTQ_MODES:
            label = "int8 PTQ" if mode == "int8" else mode
            if s == size:
                path = files[label]
            else:
                path = work / "latency" / f"{mode}_{h}x{w}.tflite"
                if not (args.reuse and path.is_file()):
                    ex.export(
                        model_path,
                        path,
                        mode,
                        size=s,
                        calib_dataset=dataset,
                        calib_data=args.data_dir,
                        calib_samples=8,
                        overwrite=True,
                    )
            latency_models[(label, s)] = path
        latency_models[("int8 QAT", s)] = (
            qat_path if s == size else qat_path.with_name(f"{qat_path.stem}_{h}x{w}.tflite")
        )
    timings["latency exports"] = time.time() - t0

    runtimes = [("litert", sys.executable)]
    rt_python = args.tflite_runtime_python
    if rt_python:
        check = subprocess.run(
            [rt_python, "-c", "import tflite_runtime; print(tflite_runtime.__version__)"],
            capture_output=True,
            text=True,
        )
        if check.returncode == 0:
            runtimes.append(("tflite_runtime", rt_python))
            tflite_runtime_version = check.stdout.strip()
        else:
            tflite_runtime_version = "not available: " + check.stderr.strip().splitlines()[-1]
    else:
        tflite_runtime_version = "not available (no --tflite-runtime-python given)"

    t0 = time.time()
    load_before = os.getloadavg()
    latency = []
    for s in sizes:
        macs = count_macs(keras_model, *s)
        for threads in (1, 2):
            entries = [
                ("keras float (tf.function)", "keras_graph", sys.executable, model_path),
                ("keras float (eager)", "keras_eager", sys.executable, model_path),
            ]
            for (label, ms), path in latency_models.items():
                if ms == s:
                    entries += [(label, rt, python, path) for rt, python in runtimes]
            spec = {"size": list(s), "threads": threads, "warmup": args.warmup}
            results = measure_group(entries, spec, args.rounds, args.burst_runs, args.burst_seconds)
            for label, runtime, _, path in entries:
                result = results[(label, runtime)]
                row = {
                    "model": label,
                    "runtime": runtime,
                    "size": list(s),
                    "threads": threads,
                    "file_bytes": Path(path).stat().st_size,
                    "macs": macs,
                    **result,
                }
                if "median_ms" in result:
                    row["gmacs_per_second"] = macs / (result["median_ms"] / 1000) / 1e9
                latency.append(row)
                print(json.dumps(row), flush=True)
    timings["latency runs"] = time.time() - t0

    selection = None
    if args.ship:
        selection = choose_int8(files, dataset, args.data_dir, args.ship_int8)
        print(f"int8 file to ship: {json.dumps(selection)}", flush=True)
        ship_files(files, name, selection, ROOT / "tflite" / "models")

    from mininet_tf.modelcard import tool_versions

    result = {
        "dataset": dataset,
        "command": " ".join(["python", "benchmarks/edge.py", *sys.argv[1:]]),
        "model": str(model_path),
        "export_size": list(size),
        "evaluated_split": evaluated_split(card),
        "qat": json.loads(qat_path.with_suffix(".json").read_text())["qat"],
        "int8_selection": selection,
        "quality": quality,
        "latency": latency,
        "tflite_runtime": tflite_runtime_version,
        "tools": tool_versions(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "load_average_before_latency": load_before,
            "load_average_after_latency": os.getloadavg(),
        },
        "timings_seconds": timings,
        "wall_seconds": time.time() - started,
    }
    out = Path(args.out_dir) / f"edge_{name}.json"
    from mininet_lite.files import atomic_write_json

    atomic_write_json(out, result, indent=2)
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return result


# === Tables ===


def markdown(result: dict) -> str:
    split = result.get("evaluated_split", "test")
    lines = [f"#### {result['dataset']}: quality on the {split} split", ""]
    lines += [
        "| model | file | bytes | threshold | F1 (=Dice) | IoU | AUC | per-image F1 | dF1 vs Keras |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    selection = result.get("int8_selection") or {}
    for r in result["quality"]:
        tq = f" (q>={r['threshold_quantized']})" if r.get("threshold_quantized") is not None else ""
        shipped = " (shipped)" if r["model"] == selection.get("shipped") else ""
        lines.append(
            f"| {r['model']}{shipped} | {r['file']} | {r['size_bytes']:,} | {r['threshold']:.2f}{tq} | "
            f"{r['f1']:.4f} | {r['iou']:.4f} | {r['auc']:.4f} | {r['per_image_f1']:.4f} | "
            f"{r['delta_f1_vs_keras']:+.4f} |"
        )
    if selection.get("val_f1"):
        scores = ", ".join(f"{k} {v:.4f}" for k, v in selection["val_f1"].items())
        lines += ["", f"int8 file shipped: {selection['shipped']} (validation F1: {scores})."]
    lines += [
        "",
        f"#### {result['dataset']}: latency (median wall ms per image; 1-thread CPU ms; "
        "load + first call s; peak RSS MB)",
        "",
    ]
    sizes = sorted({tuple(r["size"]) for r in result["latency"]})
    header = "| model | runtime | bytes |"
    rule = "|---|---|---:|"
    for s in sizes:
        for t in (1, 2):
            header += f" {s[0]}x{s[1]} {t}T |"
            rule += "---:|"
    for s in sizes:
        header += f" {s[0]}x{s[1]} 1T CPU |"
        rule += "---:|"
    header += " load s (512, 1T) | peak RSS MB (512, 1T) | GMAC/s (512, 1T) |"
    rule += "---:|---:|---:|"
    lines += [header, rule]
    keys = []
    for r in result["latency"]:
        key = (r["model"], r["runtime"])
        if key not in keys:
            keys.append(key)
    for key in keys:
        rows = [r for r in result["latency"] if (r["model"], r["runtime"]) == key]
        by = {(tuple(r["size"]), r["threads"]): r for r in rows}
        ref = by.get(((512, 512), 1), rows[0])
        line = f"| {key[0]} | {key[1]} | {ref['file_bytes']:,} |"
        for s in sizes:
            for t in (1, 2):
                r = by.get((s, t))
                line += f" {r['median_ms']:.1f} |" if r and "median_ms" in r else " n/a |"
        for s in sizes:
            r = by.get((s, 1))
            line += f" {r['median_cpu_ms']:.1f} |" if r and "median_cpu_ms" in r else " n/a |"
        if "median_ms" in ref:
            line += (
                f" {ref['load_seconds']:.2f} | {ref['peak_rss_mb']:.0f} | "
                f"{ref['gmacs_per_second']:.2f} |"
            )
        else:
            line += " n/a | n/a | n/a |"
        lines.append(line)
    macs = {tuple(r["size"]): r["macs"] for r in result["latency"]}
    lines += [
        "",
        "MACs per image: "
        + ", ".join(f"{s[0]}x{s[1]}: {m / 1e6:.0f} M" for s, m in sorted(macs.items())),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/edge.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--dataset", choices=("drive", "stare", "chase_db1", "fundus", "ph2", "isic2017", "monuseg")
    )
    parser.add_argument("--data-dir")
    parser.add_argument(
        "--variant",
        choices=("default", "fast"),
        default="default",
        help="fast: the mininet_fast model (pretrained/mininet_<dataset>_fast.keras); files and "
        "results are named <dataset>_fast",
    )
    parser.add_argument(
        "--model", help="default: mininet_tf/pretrained/mininet_<dataset>[_fast].keras"
    )
    parser.add_argument("--out-dir", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--qat-epochs", type=int, default=4)
    parser.add_argument("--qat-steps", type=int, default=100)
    parser.add_argument("--qat-learning-rate", type=float, default=1e-4)
    parser.add_argument("--calib-samples", type=int, default=32)
    parser.add_argument("--tflite-runtime-python", help="a Python with tflite-runtime installed")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per group")
    parser.add_argument("--burst-runs", type=int, default=3, help="timed runs per burst")
    parser.add_argument("--burst-seconds", type=float, default=1.0, help="burst time budget")
    parser.add_argument("--reuse", action="store_true", help="reuse models already exported")
    parser.add_argument(
        "--skip-latency", action="store_true", help="quality (and --ship) only, no latency"
    )
    parser.add_argument(
        "--ship", action="store_true", help="copy an int8 file + float16 to tflite/models"
    )
    parser.add_argument(
        "--ship-int8",
        choices=("val", "qat", "ptq"),
        default="val",
        help="which int8 file --ship copies: val (the QAT or post-training file, whichever "
        "scores higher on the validation split), or always qat or ptq",
    )
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if not args.dataset or not args.data_dir:
        parser.error("--dataset and --data-dir are required")
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
