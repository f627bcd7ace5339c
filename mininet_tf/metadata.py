"""What TFLite metadata a Mini-Net `.tflite` carries, and stamping files that lack it.

    python -m mininet_tf.metadata tflite/models/*.tflite          # stamp in place, update cards
    python -m mininet_tf.metadata --check tflite/models/*.tflite  # exit 1 unless all stamped

The flatbuffer work is `mininet_lite.metadata`; this module decides the content from the facts an
export knows (training dataset -> output label, mode, quantisation, input size, weights digest),
so `mininet_tf.export` and `mininet_tf.quantize` stamp new files and the command above stamps
files exported before metadata existed, byte for byte alike. Stamping checks that the model's
outputs are bit-identical before and after, and that the card's sha256 matches the file it
stamps (a card describing another file is refused); the card's ``sha256`` and ``size_bytes`` are
then updated and a ``metadata`` entry records the label. Stamping is idempotent.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

from mininet_lite.metadata import add_metadata, read_metadata

#: Output label per training dataset (`mininet_tf.data.DATASETS` keys); others: "foreground".
LABELS = {
    "ph2": "lesion",
    "isic2016": "lesion",
    "isic2017": "lesion",
    "isic2018": "lesion",
    "drive": "vessel",
    "stare": "vessel",
    "chase_db1": "vessel",
    "fundus": "vessel",
    "monuseg": "nucleus",
}
#: How the licence text names each training dataset (README, "Licence, citation and data terms").
DATASET_NAMES = {
    "ph2": "PH2 (Mendonca et al., 2013)",
    "isic2016": "ISIC 2016 (Gutman et al., 2016)",
    "isic2017": "ISIC 2017 (Codella et al., 2018)",
    "isic2018": "ISIC 2018 (Codella et al., 2019; Tschandl et al., 2018)",
    "drive": "DRIVE (Staal et al., 2004)",
    "stare": "STARE (Hoover et al., 2000)",
    "chase_db1": "CHASE_DB1 (Fraz et al., 2012)",
    "fundus": "DRIVE (Staal et al., 2004), STARE (Hoover et al., 2000) and CHASE_DB1 "
    "(Fraz et al., 2012)",
    "monuseg": "MoNuSeg (Kumar et al., 2017/2020)",
}
AUTHOR = "mininet-tf contributors"
SCHEMA = "TFLite metadata (TFLITE_METADATA), MediaPipe ImageSegmenter layout"


class MetadataError(ValueError):
    """The file cannot be stamped as asked; the message says why."""


def label_of(dataset: str | None) -> str:
    return LABELS.get(str(dataset).lower(), "foreground")


def metadata_fields(
    name: str, *, dataset: str | None, mode: str, quantization: str, size, weights_sha256
) -> dict:
    """The `mininet_lite.metadata.add_metadata` keyword arguments of one exported file.

    Only facts fixed at conversion go in (not the threshold, which is chosen on the written
    file and lives in the card), so a file and its card never disagree about them.
    """
    label = label_of(dataset)
    h, w = (int(v) for v in size)
    data = DATASET_NAMES.get(str(dataset).lower(), f"the {dataset!r} dataset")
    return {
        "label": label,
        "name": name,
        "description": (
            f"Mini-Net (arXiv 2405.17520) {label} segmentation trained on {data}. "
            f"{mode} ({quantization}). Input: one {h}x{w} RGB image of raw 0-255 pixels "
            f"(normalised inside the graph); output: per-pixel {label} probability (sigmoid "
            f"in the graph). The decision threshold, input policy (resize or tiles) and "
            f"measured metrics are in the model card {name}.json. Research software, not a "
            "medical device."
        ),
        "version": f"weights sha256 {weights_sha256[:16]}" if weights_sha256 else "unversioned",
        "author": AUTHOR,
        "license": (
            "Code: Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0). Weights: trained "
            f"on {data}, research data under its owners' own terms of use, which this licence "
            "does not cover: check them before any use beyond research, and cite the dataset."
        ),
        "activation": "NONE",
    }


def card_facts(card: dict) -> dict:
    """The `metadata_fields` facts recorded in a `.tflite` model card."""
    try:
        return {
            "dataset": (card.get("training_data") or {}).get("dataset"),
            "mode": card["mode"],
            "quantization": card["quantization"],
            "size": card["input"]["shape"][1:3],
            "weights_sha256": (card.get("source") or {}).get("sha256"),
        }
    except (KeyError, TypeError) as exc:
        raise MetadataError(f"model card lacks {exc} (not a mininet_tf.tflite_card?)") from exc


def _outputs(data: bytes, x: np.ndarray) -> np.ndarray:
    from mininet_lite.runtime import load_interpreter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(data)
        interpreter = load_interpreter(path)
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def check_same_outputs(before: bytes, after: bytes, samples: int = 2) -> None:
    """Raise unless both models give bit-identical outputs on random uint8 images."""
    from mininet_lite.runtime import load_interpreter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(before)
        shape = load_interpreter(path).get_input_details()[0]["shape"]
    rng = np.random.default_rng(0)
    for _ in range(samples):
        x = rng.integers(0, 256, shape, dtype=np.uint8)
        if not np.array_equal(_outputs(before, x), _outputs(after, x)):
            raise MetadataError("the model with metadata computes other outputs (please report)")


def stamp(data: bytes, name: str, **facts) -> tuple[bytes, dict]:
    """(``data`` with metadata, the card's ``metadata`` entry); outputs checked unchanged."""
    fields = metadata_fields(name, **facts)
    stamped = add_metadata(data, **fields)
    check_same_outputs(data, stamped)
    return stamped, {"schema": SCHEMA, "label": fields["label"]}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamped_model(data: bytes, stem: str, card: dict) -> tuple[bytes, dict]:
    """``data`` stamped as the model ``<stem>.tflite`` (its metadata names the file) and its
    card updated to describe the stamped bytes."""
    stamped, entry = stamp(data, stem, **card_facts(card))
    return stamped, {
        **card,
        "sha256": sha256_bytes(stamped),
        "size_bytes": len(stamped),
        "metadata": entry,
    }


def stamp_file(path: str | Path) -> bool:
    """Stamp ``path`` in place and update its card; False if it was already stamped.

    Refused unless the card's sha256 is that of the file, or the file is unstamped and the
    card's sha256 is that of the file once stamped (a run interrupted between writing the card
    and the model: the card is written first so that a re-run completes it).
    """
    from mininet_lite.runtime import card_path, read_card
    from mininet_tf.data.records import atomic_write_bytes
    from mininet_tf.inference import write_card

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    card = read_card(path)
    if not card:
        raise MetadataError(f"{path}: no model card {card_path(path).name} beside it")
    data = path.read_bytes()
    stamped, new_card = stamped_model(data, path.stem, card)
    recorded = card.get("sha256")
    # The interrupted run left the unstamped model: any other file is not the card's.
    interrupted = read_metadata(data) is None and recorded == new_card["sha256"]
    if recorded != sha256_bytes(data) and not interrupted:
        raise MetadataError(
            f"{path}: sha256 {sha256_bytes(data)[:16]}... is not the one its card records "
            f"({str(recorded)[:16]}...): the card describes another file; not stamped"
        )
    if stamped == data and new_card == card:
        return False
    write_card(path, new_card)
    if stamped != data:
        atomic_write_bytes(path, stamped)
    return True


def check_file(path: str | Path) -> str | None:
    """None if ``path`` carries exactly the metadata its card implies, else the problem."""
    from mininet_lite.runtime import read_card

    path = Path(path)
    card = read_card(path)
    data = path.read_bytes()
    if card.get("sha256") != sha256_bytes(data):
        return "sha256 differs from its card"
    found = read_metadata(data)
    if found is None:
        return "no TFLite metadata"
    if add_metadata(data, **metadata_fields(path.stem, **card_facts(card))) != data:
        return f"metadata differs from what its card implies (label {found['labels']})"
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.metadata",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", help=".tflite files, each with its .json card")
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args(argv)
    failed = 0
    for model in args.models:
        try:
            if args.check:
                problem = check_file(model)
                status = f"FAIL: {problem}" if problem else "ok"
                failed += problem is not None
            else:
                status = "stamped" if stamp_file(model) else "already stamped"
        except (MetadataError, FileNotFoundError, ValueError) as exc:
            status = f"FAIL: {exc}"
            failed += 1
        print(f"{model}: {status}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
