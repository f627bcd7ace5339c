"""int8 latency of candidate upsampling heads for the fast variant (`mininet_fast`).

    python benchmarks/fast_heads_int8.py --size 512 512 --out 512

The fast variant's body (stem to dec0, half resolution) is kept and only the head that brings
the map back to full resolution changes. Latency does not depend on the weights, so the
graphs are untrained (the shipped head's weights come from `build_mininet_fast`'s initialiser);
each is converted to full int8 (post-training, synthetic calibration, as in
`profile_int8.py`) and all are timed in the same interleaved rounds (CPU time of the calling
thread, 1 interpreter thread). Heads:

- ``transpose4x4``: the shipped head, a 4x4 stride-2 transposed conv to 1 channel + sigmoid.
- ``conv1x1_d2s``: a 1x1 conv to 4 channels at half resolution, DEPTH_TO_SPACE(2), sigmoid.
- ``conv3x3_d2s``: the same with a 3x3 conv (each output pixel sees a 3x3 half-resolution
  neighbourhood, like the transposed conv's overlap).

Only latency is measured: a head that is faster still has to be trained and checked for
quality before it replaces the shipped one. Writes
``benchmarks/results/fast_heads_int8_<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tflite"), str(Path(__file__).resolve().parent)]

import profile_int8  # noqa: E402  (conversion and timing)
import results_json  # noqa: E402


def head_variants(height: int, width: int) -> dict:
    """name -> fixed-size int8-convertible Keras graph with that head."""
    import keras
    import tensorflow as tf

    from mininet_tf.convert import export_graph
    from mininet_tf.model import build_mininet_fast

    base = export_graph(build_mininet_fast(), height, width, input_dtype="float32")
    body = base.get_layer("dec0_out").output
    layers = keras.layers

    def depth_to_space(kernel: int, name: str):
        x = layers.Conv2D(4, kernel, padding="same", name=f"{name}_conv")(body)
        # A Lambda is fine here: this graph is only converted, never saved or QAT-wrapped.
        x = layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2), name=f"{name}_d2s")(x)
        return keras.Model(base.input, layers.Activation("sigmoid")(x), name=name)

    return {
        "transpose4x4": base,
        "conv1x1_d2s": depth_to_space(1, "conv1x1_d2s"),
        "conv3x3_d2s": depth_to_space(3, "conv3x3_d2s"),
    }


def run(args) -> dict:
    h, w = args.size
    models = head_variants(h, w)
    files = {name: profile_int8.to_int8(model) for name, model in models.items()}
    timers = {name: profile_int8.Timed(data, args.threads) for name, data in files.items()}
    timed = profile_int8.time_together(timers, args.rounds, args.burst)
    result = {
        **results_json.header(__file__),
        "size": [h, w],
        "threads": args.threads,
        "timing": "median CPU time of the calling thread per invoke, interleaved bursts",
        "heads": {
            name: {"int8_ops": profile_int8.op_counts(files[name]), **timed[name]}
            for name in models
        },
    }
    print(f"\nfast variant, int8 at {h}x{w}, {args.threads} thread(s), CPU ms per invoke:")
    for name, row in result["heads"].items():
        print(
            f"  {name:14s} {row['median_cpu_ms']:7.2f} ms  (p10-p90 wall "
            f"{row['p10_ms']:.2f}-{row['p90_ms']:.2f})"
        )
    results_json.write(f"fast_heads_int8_{args.out}", result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, nargs=2, default=[512, 512], metavar=("H", "W"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--burst", type=int, default=3)
    parser.add_argument("--out", required=True)
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
