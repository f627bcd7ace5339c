"""TFLite metadata (`mininet_lite.metadata`, `mininet_tf.metadata`): what is written reads back,
the graph computes bit-identical outputs, stamping is idempotent and refuses a file its card
does not describe, the export path stamps new files, and every shipped model carries it.

MediaPipe reading the same metadata is tests/test_mediapipe.py.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mininet_lite import TFLiteSegmenter
from mininet_lite.metadata import (
    MIN_PARSER_VERSION,
    add_metadata,
    associated_files,
    metadata_buffer,
    read_metadata,
    strip_metadata,
)
from mininet_lite.runtime import load_interpreter, read_card
from mininet_tf import metadata as md

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tflite" / "models"
SHIPPED = sorted(MODELS.glob("*.tflite"))
EXPECTED_LABEL = {
    "ph2": "lesion",
    "isic2017": "lesion",
    "drive": "vessel",
    "stare": "vessel",
    "chase_db1": "vessel",
    "fundus": "vessel",
    "monuseg": "nucleus",
}
FIELDS = {
    "label": "lesion",
    "name": "m",
    "description": "a test model",
    "version": "1",
    "license": "Apache-2.0",
}


def dataset_of(path: Path) -> str:
    return read_card(path)["training_data"]["dataset"]


def outputs(data: bytes, tmp_path: Path, seed: int = 0) -> np.ndarray:
    path = tmp_path / f"probe_{seed}.tflite"
    path.write_bytes(data)
    interpreter = load_interpreter(path)
    inp = interpreter.get_input_details()[0]
    x = np.random.default_rng(seed).integers(0, 256, inp["shape"], dtype=np.uint8)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def unstamped(path: Path) -> bytes:
    """The model without metadata, whatever the shipped file holds: no check may pass because
    the file was stamped already."""
    return strip_metadata(path.read_bytes())


def copy_with_card(path: Path, folder: Path) -> Path:
    shutil.copy(path, folder / path.name)
    shutil.copy(path.with_suffix(".json"), folder / path.with_suffix(".json").name)
    return folder / path.name


# === The flatbuffer ===


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_metadata_reads_back_and_outputs_are_bit_identical(path, tmp_path):
    data = unstamped(path)
    assert read_metadata(data) is None
    fields = md.metadata_fields(path.stem, **md.card_facts(read_card(path)))
    stamped = add_metadata(data, **fields)
    meta = read_metadata(stamped)
    label = EXPECTED_LABEL[dataset_of(path)]
    assert meta["labels"] == [label] and fields["label"] == label
    assert meta["name"] == path.stem and meta["min_parser_version"] == MIN_PARSER_VERSION
    assert "Apache-2.0" in meta["license"] and "own terms" in meta["license"]
    assert meta["activation"] == "NONE"
    assert meta["input"]["process_units"] == [{"normalization": {"mean": [0.0], "std": [1.0]}}]
    assert meta["input"]["stats"] == {"max": [255.0], "min": [0.0]}
    assert meta["input"]["color_space"] == 1 and meta["output"]["color_space"] == 2  # RGB, gray
    assert meta["output"]["range"] == [1, 2]  # the mask's H, W dimensions
    assert associated_files(stamped) == {"labels.txt": f"{label}\n".encode()}
    for seed in (0, 1):
        assert np.array_equal(outputs(data, tmp_path, seed), outputs(stamped, tmp_path, seed))


def test_stamping_is_idempotent_and_replaces_earlier_metadata():
    data = unstamped(SHIPPED[0])
    once = add_metadata(data, **FIELDS)
    assert add_metadata(once, **FIELDS) == once
    relabelled = add_metadata(once, **{**FIELDS, "label": "vessel"})
    assert read_metadata(relabelled)["labels"] == ["vessel"]
    assert add_metadata(relabelled, **FIELDS) == once  # one metadata entry, not two
    # A re-pack keeps the compacted layout: the file grows by the metadata and little else.
    assert len(once) - len(data) < len(metadata_buffer(once)) + 512


def test_altered_metadata_is_detected():
    data = add_metadata(unstamped(SHIPPED[0]), **FIELDS)
    at = data.find(metadata_buffer(data))
    with pytest.raises(ValueError, match="not a M001 flatbuffer"):
        read_metadata(data[: at + 4] + b"NOPE" + data[at + 8 :])
    no_labels = data[: data.rfind(b"PK\x03\x04")]  # the label archive cut off
    with pytest.raises(ValueError, match="label file"):
        read_metadata(no_labels)


def test_refuses_what_mediapipe_cannot_segment():
    data = unstamped(SHIPPED[0])
    with pytest.raises(ValueError, match="one non-empty line"):
        add_metadata(data, **{**FIELDS, "label": "a\nb"})
    with pytest.raises(ValueError, match="activation"):
        add_metadata(data, **FIELDS, activation="RELU")


def test_labels_follow_the_training_dataset():
    assert [md.label_of(d) for d in ("ph2", "ISIC2017", "fundus", "monuseg")] == [
        "lesion",
        "lesion",
        "vessel",
        "nucleus",
    ]
    assert md.label_of("synthetic") == md.label_of(None) == "foreground"


# === Stamping files and cards ===


def test_cli_stamps_copies_updates_cards_and_is_idempotent(tmp_path, capsys):
    paths = [copy_with_card(p, tmp_path) for p in SHIPPED[:3]]
    for p in paths:  # as shipped before metadata existed
        data = unstamped(p)
        p.write_bytes(data)
        card = read_card(p)
        card.pop("metadata", None)
        p.with_suffix(".json").write_text(
            json.dumps({**card, "sha256": md.sha256_bytes(data), "size_bytes": len(data)})
        )
    assert md.main(["--check", *map(str, paths)]) == 1
    assert "no TFLite metadata" in capsys.readouterr().out
    assert md.main([str(p) for p in paths]) == 0
    assert capsys.readouterr().out.count(": stamped") == 3
    first = {p: (p.read_bytes(), p.with_suffix(".json").read_text()) for p in paths}
    for p in paths:
        card = read_card(p)
        data = p.read_bytes()
        assert card["sha256"] == md.sha256_bytes(data) and card["size_bytes"] == len(data)
        assert card["metadata"]["label"] == read_metadata(data)["labels"][0]
        TFLiteSegmenter(p)  # verifies the sha256 in the card
    assert md.main([str(p) for p in paths]) == 0
    assert capsys.readouterr().out.count("already stamped") == 3
    assert {p: (p.read_bytes(), p.with_suffix(".json").read_text()) for p in paths} == first
    assert md.main(["--check", *map(str, paths)]) == 0


def test_cli_refuses_a_file_its_card_does_not_describe(tmp_path, capsys):
    path = copy_with_card(SHIPPED[0], tmp_path)
    path.write_bytes(path.read_bytes() + b"\0")
    before = path.read_bytes(), path.with_suffix(".json").read_text()
    assert md.main([str(path)]) == 1
    assert "not the one its card records" in capsys.readouterr().out
    assert (path.read_bytes(), path.with_suffix(".json").read_text()) == before


def test_check_flags_metadata_other_than_the_card_implies(tmp_path, capsys):
    path = copy_with_card(SHIPPED[0], tmp_path)
    md.stamp_file(path)
    wrong = add_metadata(path.read_bytes(), **{**FIELDS, "name": path.stem})
    path.write_bytes(wrong)
    card = read_card(path)
    path.with_suffix(".json").write_text(json.dumps({**card, "sha256": md.sha256_bytes(wrong)}))
    assert md.main(["--check", str(path)]) == 1
    assert "differs from what its card implies" in capsys.readouterr().out


def test_interrupted_stamp_completes(tmp_path):
    """Card written, model not (the order `stamp_file` writes them): a re-run finishes."""
    path = copy_with_card(SHIPPED[0], tmp_path)
    data = unstamped(path)
    path.write_bytes(data)
    stamped, _ = md.stamp(data, path.stem, **md.card_facts(read_card(path)))
    card = read_card(path)
    path.with_suffix(".json").write_text(json.dumps({**card, "sha256": md.sha256_bytes(stamped)}))
    assert md.stamp_file(path) is True
    assert path.read_bytes() == stamped


# === The export path ===


@pytest.mark.slow
def test_export_writes_metadata_and_the_card_hashes_the_stamped_file(tmp_path):
    import keras

    from mininet_tf import export as ex
    from mininet_tf.inference import write_card
    from mininet_tf.model import build_mininet

    source = tmp_path / "tiny.keras"
    build_mininet(widths=(8, 16, 24)).save(source)
    write_card(source, {"dataset": "ph2", "threshold": 0.5, "config": {}})
    keras.backend.clear_session()
    out = tmp_path / "tiny_float16.tflite"
    card = ex.export(source, out, "float16", size=(32, 32))
    data = out.read_bytes()
    assert card["sha256"] == md.sha256_bytes(data) and card["size_bytes"] == len(data)
    assert read_metadata(data)["labels"] == ["lesion"]
    assert card["metadata"]["label"] == "lesion"
    assert md.stamp_file(out) is False  # the CLI would write the very same bytes


# === The shipped files ===


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_model_carries_its_metadata(path):
    """Stamp with `python -m mininet_tf.metadata tflite/models/*.tflite` after re-exporting."""
    assert md.check_file(path) is None, f"{path.name}: {md.check_file(path)}"
