"""Where the int8 time of an exported model goes: per-block latency, GMAC/s and the floor.

    python benchmarks/profile_int8.py --size 512 512 --threads 1 \\
        --thread-scaling --compare-unet --out drive_512

Method (LiteRT, XNNPACK, fixed batch 1, uint8 image input like the shipped files):
- **Blocks by prefix models.** The fixed-size export graph (`mininet_tf.convert.export_graph`)
  is cut after each block (``stem``, ``enc0``, ``skip0``, ``enc0_pool``, ..., ``head``); each
  cut is converted to full int8 with every tensor still needed later as an int8 output, so the
  converter cannot prune work. A block's time is the difference of consecutive prefixes, its
  GMAC/s its conv MACs over that time. Differences of a few tenths of a millisecond are noise
  (they can come out negative for the cheap pooling blocks).
- **Per-op peaks and the floor.** Every convolution of the graph is also converted alone
  (int8 in, int8 out, same shapes; a separable conv as its depthwise and pointwise parts) and
  timed. The best GMAC/s of each kind (3x3 conv, 3x3 depthwise, 1x1 conv) is the peak this
  runtime reaches on this CPU; the floor is the sum over the graph's convs of MACs / peak of
  their kind. Elementwise ops (adds, pooling, resizes, concatenations, requantisations) cost
  nothing in the floor: it is what the convolutions alone would take if each ran as fast as the
  best one of its kind.
- Times are CPU time of the calling thread per invoke (with one interpreter thread, the cost
  on an idle core whatever else the machine runs), median over interleaved bursts; wall time
  is recorded too. ``--thread-scaling`` times the whole model at 1, 2 and 4 threads (wall
  time) and with the default delegates (XNNPACK) off. ``--compare-unet`` times an untrained
  `build_unet` at the same size in the same rounds (latency does not depend on the weights).

Calibration uses seeded synthetic images (scales do not change the op schedule). Writes
``benchmarks/results/profile_int8_<out>.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tflite"), str(Path(__file__).resolve().parent)]

import results_json  # noqa: E402  (benchmarks/results_json.py)

DEFAULT_MODEL = ROOT / "mininet_tf" / "pretrained" / "mininet_drive.keras"
DEFAULT_SHIPPED = ROOT / "tflite" / "models" / "mininet_drive_int8.tflite"
CONV_KINDS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose")


# === The graph, cut into blocks ===


def block_of(layer_name: str) -> str | None:
    """The block a layer belongs to (None for the input)."""
    if layer_name == "image":
        return None
    if layer_name in ("head_conv", "probabilities"):
        return "head"
    prefix = layer_name.split("_")[0]
    if prefix.startswith("enc") and layer_name.endswith("_pool"):
        return f"{prefix}_pool"
    return prefix


def blocks_in_order(graph) -> list[str]:
    """Blocks in the order of the functional graph's (topologically sorted) layers."""
    order = []
    for layer in graph.layers:
        block = block_of(layer.name)
        if block is not None and block not in order:
            order.append(block)
    return order


def _inputs_of(layer) -> list:
    inputs = layer.input
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def prefix_model(graph, blocks: list[str], upto: int):
    """The graph up to and including ``blocks[upto]``, with every live tensor as an output."""
    import keras

    done = set(blocks[: upto + 1])
    producer = {id(layer.output): layer for layer in graph.layers if layer.name != "image"}
    live = []
    for layer in graph.layers:
        if block_of(layer.name) in done or layer.name == "image":
            continue
        for tensor in _inputs_of(layer):
            source = producer.get(id(tensor))
            if source is not None and block_of(source.name) in done and source not in live:
                live.append(source)
    last = [layer for layer in graph.layers if block_of(layer.name) == blocks[upto]][-1]
    if last not in live:
        live.append(last)
    prefix = keras.Model(graph.input, [layer.output for layer in live], name=f"upto_{upto}")
    extra = {block_of(layer.name) for layer in prefix.layers} - done - {None}
    if extra:  # a block of the cut needs a later one: the block order is not a valid cut
        raise ValueError(f"cut after {blocks[upto]} also needs blocks {sorted(extra)}")
    return prefix


# === Conversion and timing ===


def to_int8(model, input_type: str = "uint8") -> bytes:
    """Full-int8 flatbuffer (public converter API; seeded synthetic calibration)."""
    import tensorflow as tf

    shape = tuple(model.input.shape)
    rng = np.random.default_rng(0)
    low, high = (0, 256) if input_type == "uint8" else (-1, 1)

    def representative():
        for _ in range(4):
            yield [rng.uniform(low, high, size=shape).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8 if input_type == "uint8" else tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def op_counts(data: bytes) -> dict:
    from mininet_tf.convert import tflite_summary

    return tflite_summary(data)["ops"]


class Timed:
    """One interpreter with a fixed random input, timed per invoke."""

    def __init__(self, data: bytes, threads: int, delegates: bool = True):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = (
            OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
        self.interpreter = Interpreter(
            model_content=data, num_threads=threads, experimental_op_resolver_type=resolver
        )
        self.interpreter.allocate_tensors()
        detail = self.interpreter.get_input_details()[0]
        info = np.iinfo(detail["dtype"])
        rng = np.random.default_rng(1)
        x = rng.integers(info.min, info.max + 1, size=detail["shape"]).astype(detail["dtype"])
        self.interpreter.set_tensor(detail["index"], x)
        self.cpu_ms: list[float] = []
        self.wall_ms: list[float] = []

    def burst(self, runs: int) -> None:
        for _ in range(runs):
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            self.interpreter.invoke()
            self.wall_ms.append((time.perf_counter_ns() - w0) / 1e6)
            self.cpu_ms.append((time.thread_time_ns() - c0) / 1e6)

    def summary(self) -> dict:
        return {
            "median_cpu_ms": statistics.median(self.cpu_ms),
            "median_ms": statistics.median(self.wall_ms),
            "p10_ms": float(np.percentile(self.wall_ms, 10)),
            "p90_ms": float(np.percentile(self.wall_ms, 90)),
            "runs": len(self.wall_ms),
        }


def time_together(timers: dict, rounds: int, burst: int, warmup: int = 2) -> dict:
    """Interleaved bursts, so load changes on a shared machine hit every model alike."""
    for timer in timers.values():
        timer.burst(warmup)
        timer.cpu_ms.clear()
        timer.wall_ms.clear()
    for _ in range(rounds):
        for timer in timers.values():
            timer.burst(burst)
    return {name: timer.summary() for name, timer in timers.items()}


def _read(path: str) -> bytes:
    """A file given relative to the repository or the working directory."""
    return (ROOT / path if (ROOT / path).is_file() else Path(path)).read_bytes()


# === The per-op peaks ===


def conv_ops(graph) -> list[dict]:
    """Every convolution of ``graph`` as a single op: name, kind, shapes, MACs, a builder."""
    ops = []
    for layer in graph.layers:
        kind = type(layer).__name__
        if kind not in CONV_KINDS:
            continue
        _, h, w, c = layer.input.shape
        out_c = layer.output.shape[-1]
        k = layer.kernel_size[0]
        if kind in ("DepthwiseConv2D", "SeparableConv2D"):
            ops.append(
                _op(
                    layer.name,
                    "depthwise3x3" if k == 3 else f"depthwise{k}x{k}",
                    (h, w, c),
                    c,
                    h * w * c * k * k,
                    k,
                )
            )
        if kind == "SeparableConv2D":
            ops.append(
                _op(layer.name + "/pointwise", "conv1x1", (h, w, c), out_c, h * w * c * out_c, 1)
            )
        if kind == "Conv2D":
            oh, ow = layer.output.shape[1:3]  # a strided conv: MACs per output pixel
            op = _op(layer.name, f"conv{k}x{k}", (h, w, c), out_c, oh * ow * c * out_c * k * k, k)
            op["strides"] = int(layer.strides[0])
            ops.append(op)
        if kind == "Conv2DTranspose":  # the fast variant's head
            op = _op(
                layer.name, f"transpose{k}x{k}", (h, w, c), out_c, h * w * c * out_c * k * k, k
            )
            op["strides"] = int(layer.strides[0])
            ops.append(op)
    return ops


def _op(name, kind, shape, out_c, macs, k) -> dict:
    return {
        "name": name,
        "kind": kind,
        "shape": list(shape),
        "out_channels": int(out_c),
        "kernel": int(k),
        "macs": int(macs),
    }


def single_op_model(op: dict):
    import keras

    x = keras.Input(shape=tuple(op["shape"]), batch_size=1)
    strides = op.get("strides", 1)
    if op["kind"].startswith("depthwise"):
        y = keras.layers.DepthwiseConv2D(op["kernel"], padding="same")(x)
    elif op["kind"].startswith("transpose"):
        y = keras.layers.Conv2DTranspose(
            op["out_channels"], op["kernel"], strides=strides, padding="same"
        )(x)
    else:
        y = keras.layers.Conv2D(op["out_channels"], op["kernel"], strides=strides, padding="same")(
            x
        )
    return keras.Model(x, y)


# === The run ===


def run(args) -> dict:
    import keras

    from mininet_tf.baselines import build_unet
    from mininet_tf.convert import export_graph
    from mininet_tf.model import layer_macs

    h, w = args.size
    model = keras.models.load_model(args.model, compile=False)
    graph = export_graph(model, h, w, input_dtype="float32")
    blocks = blocks_in_order(graph)
    macs = {block: 0 for block in blocks}
    for layer in graph.layers:
        if block_of(layer.name) is not None:
            macs[block_of(layer.name)] += layer_macs(layer)
    total_macs = sum(macs.values())

    print(f"converting {len(blocks)} prefix models at {h}x{w} ...", flush=True)
    prefixes = [to_int8(prefix_model(graph, blocks, k)) for k in range(len(blocks))]
    ops = conv_ops(graph)
    print(f"converting {len(ops)} single-op models ...", flush=True)
    op_files = [to_int8(single_op_model(op), input_type="int8") for op in ops]
    unet_file = None
    if args.compare_unet:
        unet = build_unet(input_shape=(h, w, 3))
        unet_graph = export_graph(unet, h, w, input_dtype="float32")
        unet_file = to_int8(unet_graph)
        unet_macs = sum(layer_macs(layer) for layer in unet_graph.layers)

    result = {
        **results_json.header(__file__),
        "model": str(Path(args.model).resolve().relative_to(ROOT))
        if Path(args.model).resolve().is_relative_to(ROOT)
        else str(args.model),
        "size": [h, w],
        "threads": args.threads,
        "timing": "median CPU time of the calling thread per invoke, interleaved bursts",
        "total_macs": int(total_macs),
        "int8_ops": op_counts(prefixes[-1]),
        "int8_bytes": len(prefixes[-1]),
    }

    # Prefixes (and the U-Net) in one set of rounds.
    timers = {f"upto_{k}": Timed(data, args.threads) for k, data in enumerate(prefixes)}
    if unet_file is not None:
        timers["unet"] = Timed(unet_file, args.threads)
    if args.shipped:
        timers["shipped"] = Timed(_read(args.shipped), args.threads)
    print(f"timing {len(timers)} models, {args.rounds} rounds ...", flush=True)
    timed = time_together(timers, args.rounds, args.burst)
    del timers
    previous = 0.0
    rows = []
    for k, block in enumerate(blocks):
        cumulative = timed[f"upto_{k}"]["median_cpu_ms"]
        ms = cumulative - previous
        previous = cumulative
        rows.append(
            {
                "block": block,
                "ms": ms,
                "cumulative_ms": cumulative,
                "macs": int(macs[block]),
                "share_of_time": None,
                "share_of_macs": macs[block] / total_macs,
                "gmac_per_s": macs[block] / ms / 1e6 if ms > 0 and macs[block] else None,
            }
        )
    model_ms = timed[f"upto_{len(blocks) - 1}"]["median_cpu_ms"]
    for row in rows:
        row["share_of_time"] = row["ms"] / model_ms
    result["model_ms"] = model_ms
    result["model_wall"] = timed[f"upto_{len(blocks) - 1}"]
    result["blocks"] = rows

    # Single ops -> peaks -> floor.
    op_timers = {
        op["name"]: Timed(data, args.threads) for op, data in zip(ops, op_files, strict=True)
    }
    print(f"timing {len(op_timers)} single ops ...", flush=True)
    op_timed = time_together(op_timers, args.rounds, args.burst)
    del op_timers
    peaks: dict[str, float] = {}
    for op in ops:
        op["ms"] = op_timed[op["name"]]["median_cpu_ms"]
        op["gmac_per_s"] = op["macs"] / op["ms"] / 1e6
        peaks[op["kind"]] = max(peaks.get(op["kind"], 0.0), op["gmac_per_s"])
    floor_ms = sum(op["macs"] / peaks[op["kind"]] / 1e6 for op in ops)
    result["ops"] = ops
    result["peak_gmac_per_s"] = peaks
    result["floor_ms"] = floor_ms
    result["model_over_floor"] = model_ms / floor_ms
    result["ops_sum_ms"] = sum(op["ms"] for op in ops)

    if unet_file is not None:
        result["unet"] = {
            "macs": int(unet_macs),
            "int8_bytes": len(unet_file),
            **timed["unet"],
            "speedup_of_model": timed["unet"]["median_cpu_ms"] / model_ms,
        }

    if args.shipped:
        shipped = _read(args.shipped)
        result["shipped"] = {
            "file": args.shipped,
            "int8_ops": op_counts(shipped),
            **timed["shipped"],
        }
        if unet_file is not None:
            result["unet"]["speedup_of_shipped"] = (
                timed["unet"]["median_cpu_ms"] / timed["shipped"]["median_cpu_ms"]
            )

    if args.thread_scaling:
        settings = {f"{n}_threads": (n, True) for n in (1, 2, 4)}
        settings["1_thread_delegates_off"] = (1, False)
        scale_timers = {
            name: Timed(prefixes[-1], n, delegates) for name, (n, delegates) in settings.items()
        }
        print("timing thread scaling ...", flush=True)
        result["thread_scaling"] = time_together(scale_timers, args.rounds, args.burst)
        del scale_timers
    report(result)
    results_json.write(f"profile_int8_{args.out}", result)
    return result


def report(result: dict) -> None:
    h, w = result["size"]
    print(f"\n{result['model']} int8 at {h}x{w}, {result['threads']} thread(s), CPU ms:")
    print(f"  {'block':14s} {'ms':>7s} {'time':>6s} {'MACs':>6s} {'GMAC/s':>7s}")
    for row in result["blocks"]:
        rate = f"{row['gmac_per_s']:7.1f}" if row["gmac_per_s"] else "      -"
        print(
            f"  {row['block']:14s} {row['ms']:7.2f} {row['share_of_time']:6.1%} "
            f"{row['share_of_macs']:6.1%} {rate}"
        )
    print(
        f"  model {result['model_ms']:.2f} ms; floor {result['floor_ms']:.2f} ms "
        f"({result['model_over_floor']:.2f}x); single convs summed {result['ops_sum_ms']:.2f} ms"
    )
    print(
        "  peaks (GMAC/s): "
        + ", ".join(
            f"{kind} {rate:.1f}" for kind, rate in sorted(result["peak_gmac_per_s"].items())
        )
    )
    if "unet" in result:
        u = result["unet"]
        print(
            f"  U-Net int8 {u['median_cpu_ms']:.2f} ms: the model is {u['speedup_of_model']:.2f}x "
            "faster"
        )
    if "shipped" in result:
        s = result["shipped"]
        print(f"  shipped file {s['file']}: {s['median_cpu_ms']:.2f} ms")
    for name, row in result.get("thread_scaling", {}).items():
        print(f"  {name:24s} {row['median_ms']:7.2f} ms wall")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="a Mini-Net .keras file")
    parser.add_argument("--size", type=int, nargs=2, default=[512, 512], metavar=("H", "W"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--burst", type=int, default=3, help="invokes per model per round")
    parser.add_argument("--thread-scaling", action="store_true")
    parser.add_argument("--compare-unet", action="store_true")
    parser.add_argument(
        "--shipped",
        help="also time this exported .tflite of the same model and size in the same rounds "
        f"(default with the default model at 512x512: {DEFAULT_SHIPPED.relative_to(ROOT)})",
    )
    parser.add_argument("--out", required=True, help="name of the result file")
    args = parser.parse_args(argv)
    if args.shipped is None and args.model == str(DEFAULT_MODEL) and args.size == [512, 512]:
        args.shipped = str(DEFAULT_SHIPPED.relative_to(ROOT))
    if (
        args.shipped
        and not Path(ROOT / args.shipped).is_file()
        and not Path(args.shipped).is_file()
    ):
        raise SystemExit(f"--shipped {args.shipped}: no such file")
    if not Path(args.model).is_file():
        raise SystemExit(f"--model {args.model}: no such file")
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
