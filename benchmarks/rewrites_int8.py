"""Export-time graph rewrites of Mini-Net, each checked for the same function and timed int8.

    python benchmarks/rewrites_int8.py --size 512 512 --out drive_512

Each rewrite rebuilds the fixed-size export graph with `build_mininet` through a layer
namespace that changes how some layers are expressed, and maps the trained weights onto it:

- ``split_fuse``: a DMRes block's fuse (concatenation -> 1x1 conv -> BN) becomes one 1x1
  conv per branch, summed, with BN folded into the convs: no CONCATENATION and no
  requantisation before it.
- ``split_decoder``: a decoder block's concatenation -> separable conv (depthwise 3x3 ->
  1x1) -> BN becomes, per part, depthwise 3x3 -> 1x1 conv, summed, BN folded.
- ``fold_rescale``: the input rescaling folded into the stem conv (kernel / 127.5, bias
  -sum(kernel)). Not exact: the stem's zero padding then pads raw 0 (= -1 after rescaling)
  instead of 0, and the difference spreads inwards through the receptive field; reported.
- ``all``: the three together.

Checks: the Keras float output of each rewritten graph against the original on a blocky
random image (max |difference| of the probability, whole image and beyond 32 px of the
border, where the stem's padding no longer reaches), then int8
latency of every variant in one set of interleaved rounds (same method as
`profile_int8.py`: CPU time of the calling thread, one interpreter thread). int8 quality of a
variant is not measured here: only a rewrite that is faster is worth a QAT run.
Writes ``benchmarks/results/rewrites_int8_<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tflite"), str(Path(__file__).resolve().parent)]

import profile_int8  # noqa: E402  (benchmarks/profile_int8.py: conversion and timing)
import results_json  # noqa: E402

REWRITES = ("split_fuse", "split_decoder", "fold_rescale")


class Parts:
    """A concatenation that was not built: its parts, with the shape it would have had."""

    def __init__(self, tensors, name):
        self.tensors = list(tensors)
        self.name = name
        channels = sum(int(t.shape[-1]) for t in self.tensors)
        self.shape = (*self.tensors[0].shape[:-1], channels)


class RewriteLayers:
    """`keras.layers` for the export graph with the chosen rewrites; records how to map weights."""

    def __init__(self, base, rewrites):
        self._base = base
        self.rewrites = set(rewrites)
        self.split = {}  # original conv name -> (kind, part channel counts)
        self.folded_bn = {}  # BN name -> original conv name whose parts absorb it
        self._split_outputs = {}  # id(sum tensor) -> original conv name

    def __getattr__(self, name):
        return getattr(self._base, name)

    def Rescaling(self, scale, offset=0.0, name=None):  # noqa: N802
        if "fold_rescale" in self.rewrites:
            return lambda x: x
        return self._base.Rescaling(scale, offset=offset, name=name)

    def Conv2D(self, filters, kernel_size, name=None, use_bias=True, **kwargs):  # noqa: N802
        if name == "stem_conv" and "fold_rescale" in self.rewrites:
            return self._base.Conv2D(filters, kernel_size, name=name, use_bias=True, **kwargs)
        layer = self._base.Conv2D(filters, kernel_size, name=name, use_bias=use_bias, **kwargs)
        if "split_fuse" not in self.rewrites:
            return layer

        def apply(x):
            if not isinstance(x, Parts):
                return layer(x)
            outs = [
                self._base.Conv2D(filters, 1, use_bias=i == 0, name=f"{name}__p{i}")(t)
                for i, t in enumerate(x.tensors)
            ]
            return self._summed(name, "conv", x, outs)

        return apply

    def SeparableConv2D(self, filters, kernel_size, name=None, **kwargs):  # noqa: N802
        layer = self._base.SeparableConv2D(filters, kernel_size, name=name, **kwargs)

        def apply(x):
            if not isinstance(x, Parts):
                return layer(x)
            outs = []
            for i, t in enumerate(x.tensors):
                d = self._base.DepthwiseConv2D(
                    kernel_size, padding="same", use_bias=False, name=f"{name}__dw{i}"
                )(t)
                outs.append(self._base.Conv2D(filters, 1, use_bias=i == 0, name=f"{name}__p{i}")(d))
            return self._summed(name, "sepconv", x, outs)

        return apply

    def _summed(self, name, kind, parts, outs):
        y = self._base.Add(name=f"{name}__sum")(outs)
        self.split[name] = (kind, [int(t.shape[-1]) for t in parts.tensors])
        self._split_outputs[id(y)] = name
        return y

    def Concatenate(self, name=None, **kwargs):  # noqa: N802
        is_fuse = name.startswith("skip") and "split_fuse" in self.rewrites
        is_dec = name.startswith("dec") and "split_decoder" in self.rewrites
        if is_fuse or is_dec:
            return lambda tensors: Parts(tensors, name)
        return self._base.Concatenate(name=name, **kwargs)

    def BatchNormalization(self, name=None, **kwargs):  # noqa: N802
        layer = self._base.BatchNormalization(name=name, **kwargs)

        def apply(x):
            conv = self._split_outputs.get(id(x))
            if conv is None:
                return layer(x)
            self.folded_bn[name] = conv
            return x

        return apply


def rewritten_graph(model, height, width, rewrites):
    """The export graph of ``model`` with ``rewrites`` applied and its weights mapped."""
    import keras

    from mininet_tf.convert import _ExportLayers
    from mininet_tf.model import build_mininet, model_config

    layers = RewriteLayers(_ExportLayers("float32"), rewrites)
    namespace = types.SimpleNamespace(layers=layers, Model=keras.Model)
    graph = build_mininet(
        input_shape=(height, width, 3),
        keras_module=namespace,
        name=model.name,
        **model_config(model),
    )
    names = {layer.name for layer in graph.layers}
    conv_of_bn = {conv: bn for bn, conv in layers.folded_bn.items()}
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights or layer.name in layers.folded_bn:
            continue
        if layer.name in layers.split:
            _map_split(graph, model, layer, conv_of_bn[layer.name], layers.split[layer.name])
        elif layer.name == "stem_conv" and "fold_rescale" in layers.rewrites:
            (kernel,) = weights
            graph.get_layer("stem_conv").set_weights([kernel / 127.5, -kernel.sum(axis=(0, 1, 2))])
        elif layer.name in names:
            graph.get_layer(layer.name).set_weights(weights)
    return graph


def _map_split(graph, model, conv, bn_name, split):
    """Split ``conv``'s kernel by input channels and fold its BatchNorm into the parts."""
    kind, channels = split
    bn = model.get_layer(bn_name)
    gamma, beta, mean, var = bn.get_weights()
    scale = gamma / np.sqrt(var + bn.epsilon)
    bias = beta - mean * scale
    if kind == "sepconv":
        depthwise, pointwise = conv.get_weights()
    else:
        (pointwise,) = conv.get_weights()
    pointwise = pointwise * scale
    start = 0
    for i, c in enumerate(channels):
        part = pointwise[:, :, start : start + c, :]
        graph.get_layer(f"{conv.name}__p{i}").set_weights([part, bias] if i == 0 else [part])
        if kind == "sepconv":
            graph.get_layer(f"{conv.name}__dw{i}").set_weights(
                [depthwise[:, :, start : start + c, :]]
            )
        start += c


def run(args) -> dict:
    import keras

    from mininet_tf.convert import export_graph

    h, w = args.size
    model = keras.models.load_model(args.model, compile=False)
    variants = {"original": export_graph(model, h, w, input_dtype="float32")}
    for rewrite in REWRITES:
        variants[rewrite] = rewritten_graph(model, h, w, [rewrite])
    variants["all"] = rewritten_graph(model, h, w, REWRITES)

    rng = np.random.default_rng(0)
    # A smooth image with texture, closer to a photograph than uniform noise.
    base = rng.uniform(0, 255, size=(1, h // 8, w // 8, 3)).astype(np.float32)
    x = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)
    x = np.clip(x + rng.normal(0, 12, size=x.shape), 0, 255).astype(np.float32)
    reference = variants["original"].predict(x, verbose=0)
    margin = 32  # beyond it, the stem's padding no longer reaches the output (measured)

    result = {
        **results_json.header(__file__),
        "model": str(args.model),
        "size": [h, w],
        "threads": args.threads,
        "timing": "median CPU time of the calling thread per invoke, interleaved bursts",
        "variants": {},
    }
    files = {}
    for name, graph in variants.items():
        y = graph.predict(x, verbose=0)
        diff = np.abs(y - reference)[0, ..., 0]
        interior = diff[margin:-margin, margin:-margin]
        files[name] = profile_int8.to_int8(graph)
        result["variants"][name] = {
            "float_max_abs_diff": float(diff.max()),
            # None when the image has no pixel 32 px from every border (a --size under 66).
            "float_max_abs_diff_beyond_32px": float(interior.max()) if interior.size else None,
            "int8_ops": profile_int8.op_counts(files[name]),
            "int8_bytes": len(files[name]),
        }
    timers = {name: profile_int8.Timed(data, args.threads) for name, data in files.items()}
    timed = profile_int8.time_together(timers, args.rounds, args.burst)
    base_ms = timed["original"]["median_cpu_ms"]
    print(f"\nint8 at {h}x{w}, {args.threads} thread(s), CPU ms per invoke:")
    for name, row in timed.items():
        entry = result["variants"][name]
        entry.update(row)
        entry["saved_ms"] = base_ms - row["median_cpu_ms"]
        print(
            f"  {name:14s} {row['median_cpu_ms']:7.2f} ms ({entry['saved_ms']:+6.2f} saved)  "
            f"float max diff {entry['float_max_abs_diff']:.1e}, "
            f"beyond 32 px {_sci(entry['float_max_abs_diff_beyond_32px'])}"
        )
    results_json.write(f"rewrites_int8_{args.out}", result)
    return result


def _sci(value) -> str:
    return "n/a" if value is None else f"{value:.1e}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(profile_int8.DEFAULT_MODEL))
    parser.add_argument("--size", type=int, nargs=2, default=[512, 512], metavar=("H", "W"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--burst", type=int, default=3)
    parser.add_argument("--out", required=True)
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
