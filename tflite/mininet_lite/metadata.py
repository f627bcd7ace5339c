"""TFLite model metadata of a Mini-Net `.tflite`, in MediaPipe's ImageSegmenter schema.

Owns writing and reading the ``TFLITE_METADATA`` entry of a model: a ``ModelMetadata``
flatbuffer (file identifier ``M001``, TFLite metadata schema) in one of the model's buffers, plus
the label file it names, packed as a zip archive after the flatbuffer (how the TFLite metadata
tools store associated files; interpreters ignore trailing bytes). What it records:

- the model's name, description, version, author and licence;
- the input: an RGB image of raw pixels (NormalizationOptions mean 0, std 1: our graphs take
  raw 0-255 values and normalise inside the graph), value range 0..255;
- the output: one grayscale mask (dimensions 1 and 2 are H and W) whose single channel is the
  probability of ``label``, with the labels file (``TENSOR_AXIS_LABELS``), and MediaPipe's
  ``SEGMENTER_METADATA`` custom metadata with activation NONE (the sigmoid is in the graph).

Only numpy and `flatbuffers` (a dependency of ai-edge-litert) are needed, plus the TFLite model
schema that ai-edge-litert ships: the metadata tables are written by hand with the flatbuffers
builder, so neither tflite-support nor MediaPipe's writer (whose 1.2.2 wheel cannot import it)
is required. The graph itself is untouched: `add_metadata` only adds a buffer and a metadata
entry, and the exporter checks bit-identical outputs.
"""

from __future__ import annotations

import io
import zipfile

import flatbuffers
import numpy as np
from flatbuffers import number_types as N
from flatbuffers.table import Table

METADATA_NAME = "TFLITE_METADATA"
SEGMENTER_METADATA_NAME = "SEGMENTER_METADATA"
LABELS_FILE = "labels.txt"
MODEL_IDENTIFIER = b"TFL3"
METADATA_IDENTIFIER = b"M001"
SEGMENTER_IDENTIFIER = b"V001"
#: The oldest metadata parser that reads these fields: custom_metadata in SubGraphMetadata
#: (SEGMENTER_METADATA) arrived in parser 1.5.0 (MediaPipe's metadata_version.cc); everything
#: else we write is 1.0.0.
MIN_PARSER_VERSION = "1.5.0"

# Enum values of the metadata schema (metadata_schema.fbs).
_IMAGE_PROPERTIES = 2  # ContentProperties union
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union
_RGB, _GRAYSCALE = 1, 2  # ColorSpaceType
_TENSOR_AXIS_LABELS = 2  # AssociatedFileType
ACTIVATIONS = {"NONE": 0, "SIGMOID": 1, "SOFTMAX": 2}  # mediapipe.tasks.Activation

# The TFLite TensorType values MediaPipe's ImageSegmenter accepts as an image input.
_UINT8, _FLOAT32 = 3, 0


def _schema():
    """The TFLite model schema's generated Python code (ships with ai-edge-litert)."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        try:
            from tensorflow.lite.python import schema_py_generated
        except ImportError as exc:
            raise ImportError(
                "writing TFLite metadata needs the TFLite schema: pip install ai-edge-litert"
            ) from exc
    return schema_py_generated


# === Writing ===


class _Writer:
    """A flatbuffers builder with helpers for the tables of the metadata schema."""

    def __init__(self):
        self.b = flatbuffers.Builder(1024)

    def strings(self, values: dict) -> dict:
        # Strings and vectors must be created before the table that refers to them starts.
        return {k: self.b.CreateString(v) for k, v in values.items() if v is not None}

    def vector(self, offsets: list[int]) -> int:
        self.b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()

    def floats(self, values) -> int:
        return self.b.CreateNumpyVector(np.asarray(values, np.float32))

    def table(self, fields: list[tuple[int, str, object]]) -> int:
        """A table from ``(slot, kind, value)``; kind "o" offset, "b" int8/uint8, "i" int32."""
        self.b.StartObject(max(slot for slot, _, _ in fields) + 1)
        for slot, kind, value in fields:
            if value is None:
                continue
            if kind == "o":
                self.b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "b":
                self.b.PrependInt8Slot(slot, value, -1)  # never the default: always written
            else:
                self.b.PrependInt32Slot(slot, value, -1)
        return self.b.EndObject()


def _metadata_flatbuffer(
    *,
    label: str,
    name: str,
    description: str,
    version: str,
    author: str,
    license: str,  # noqa: A002  (the schema's field name)
    input_description: str,
    output_description: str,
    activation: str,
) -> bytes:
    """The ``ModelMetadata`` flatbuffer (identifier M001) of a one-label segmenter."""
    w = _Writer()
    b = w.b

    # MediaPipe's ImageSegmenterOptions (image_segmenter_metadata_schema.fbs), its own buffer.
    seg = flatbuffers.Builder(64)
    seg.StartObject(2)
    seg.PrependInt8Slot(0, ACTIVATIONS[activation], -1)
    seg.Finish(seg.EndObject(), file_identifier=SEGMENTER_IDENTIFIER)
    segmenter_options = bytes(seg.Output())

    # Input tensor: RGB image, raw 0..255 pixels (identity normalisation), stats 0..255.
    s = w.strings({"name": "image", "description": input_description})
    image_properties = w.table([(0, "b", _RGB)])
    in_content = w.table([(0, "b", _IMAGE_PROPERTIES), (1, "o", image_properties)])
    mean, std = w.floats([0.0]), w.floats([1.0])
    normalization = w.table([(0, "o", mean), (1, "o", std)])
    process_unit = w.table([(0, "b", _NORMALIZATION_OPTIONS), (1, "o", normalization)])
    units = w.vector([process_unit])
    stats_max, stats_min = w.floats([255.0]), w.floats([0.0])
    stats = w.table([(0, "o", stats_max), (1, "o", stats_min)])
    input_md = w.table(
        [(0, "o", s["name"]), (1, "o", s["description"]), (3, "o", in_content)]
        + [(4, "o", units), (5, "o", stats)]
    )

    # Output tensor: one grayscale mask over dimensions 1..2 (H, W), its label file.
    s = w.strings(
        {"name": "segmentation_masks", "description": output_description, "file": LABELS_FILE}
    )
    file_description = b.CreateString(f"The label of the output channel: {label}.")
    labels_file = w.table(
        [(0, "o", s["file"]), (1, "o", file_description), (2, "b", _TENSOR_AXIS_LABELS)]
    )
    files = w.vector([labels_file])
    gray = w.table([(0, "b", _GRAYSCALE)])
    value_range = w.table([(0, "i", 1), (1, "i", 2)])
    out_content = w.table([(0, "b", _IMAGE_PROPERTIES), (1, "o", gray), (2, "o", value_range)])
    output_md = w.table(
        [(0, "o", s["name"]), (1, "o", s["description"]), (3, "o", out_content), (6, "o", files)]
    )

    # SubGraphMetadata with the SEGMENTER_METADATA custom metadata (data force_align 16).
    custom_name = b.CreateString(SEGMENTER_METADATA_NAME)
    b.StartVector(1, len(segmenter_options), 16)
    for byte in reversed(segmenter_options):
        b.PrependUint8(byte)
    custom_data = b.EndVector()
    custom = w.vector([w.table([(0, "o", custom_name), (1, "o", custom_data)])])
    inputs, outputs = w.vector([input_md]), w.vector([output_md])
    subgraph_name = b.CreateString(name)
    subgraph = w.table(
        [(0, "o", subgraph_name), (2, "o", inputs), (3, "o", outputs), (9, "o", custom)]
    )
    subgraphs = w.vector([subgraph])

    s = w.strings(
        {
            "name": name,
            "description": description,
            "version": version,
            "author": author,
            "license": license,
            "min_parser_version": MIN_PARSER_VERSION,
        }
    )
    root = w.table(
        [(0, "o", s["name"]), (1, "o", s["description"]), (2, "o", s["version"])]
        + [(3, "o", subgraphs), (4, "o", s.get("author")), (5, "o", s["license"])]
        + [(7, "o", s["min_parser_version"])]
    )
    b.Finish(root, file_identifier=METADATA_IDENTIFIER)
    return bytes(b.Output())


class _SharingBuilder(flatbuffers.Builder):
    """Writes each distinct numpy vector once (as `mininet_tf.convert.compact_tflite` does), so
    re-packing a compacted model keeps it compact."""

    __slots__ = ("_vectors",)

    def __init__(self, size):
        super().__init__(size)
        self._vectors = {}

    def CreateNumpyVector(self, x):  # noqa: N802  (flatbuffers API)
        key = (x.dtype.str, x.shape, x.tobytes())
        if key not in self._vectors:
            self._vectors[key] = super().CreateNumpyVector(x)
        return self._vectors[key]


def _append_labels(flat: bytes, label: str) -> bytes:
    """``flat`` followed by a zip holding the label file, as the TFLite metadata populator
    packs associated files (offsets count from the start of the model file). Fixed date and
    mode: the same label gives the same bytes."""
    out = io.BytesIO(flat)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(LABELS_FILE, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, f"{label}\n")
    return out.getvalue()


def add_metadata(
    tflite_bytes: bytes,
    *,
    label: str,
    name: str,
    description: str,
    version: str,
    license: str,  # noqa: A002
    author: str | None = None,
    input_description: str = "RGB image, raw pixel values 0-255 (normalised inside the graph).",
    output_description: str | None = None,
    activation: str = "NONE",
) -> bytes:
    """``tflite_bytes`` with ImageSegmenter metadata for a one-channel ``label`` mask.

    Replaces metadata (and the label archive) that an earlier call added, so stamping is
    idempotent: the same arguments give the same bytes whether or not the input was stamped.
    The graph (operators, tensors, weight buffers) is not changed.
    """
    schema = _schema()
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    if not label or "\n" in label:
        raise ValueError(f"label {label!r}: must be one non-empty line")
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    if len(model.subgraphs) != 1:
        raise ValueError(f"expected one subgraph, found {len(model.subgraphs)}")
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError("expected one input and one output tensor")
    in_type = graph.tensors[graph.inputs[0]].type
    if in_type not in (_UINT8, _FLOAT32):
        raise ValueError(f"input tensor type {in_type}: MediaPipe takes uint8 or float32 images")
    channels = graph.tensors[graph.outputs[0]].shape[-1]
    if channels != 1:
        raise ValueError(f"output has {channels} channels; one label per channel is needed")

    metadata = _metadata_flatbuffer(
        label=label,
        name=name,
        description=description,
        version=version,
        author=author,
        license=license,
        input_description=input_description,
        output_description=output_description
        or f"Probability that each pixel is {label} (0..1, sigmoid applied inside the graph).",
        activation=activation,
    )
    buffer = schema.BufferT()
    # A numpy array, as unpacking gives: the builder then writes it the same way each time.
    buffer.data = np.frombuffer(metadata, np.uint8)
    entries = [m for m in (model.metadata or []) if m.name.decode() == METADATA_NAME]
    if entries:
        model.buffers[entries[0].buffer] = buffer
    else:
        entry = schema.MetadataT()
        entry.name = METADATA_NAME
        model.buffers.append(buffer)
        entry.buffer = len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]
    return _append_labels(_pack(model, len(tflite_bytes) + len(metadata)), label)


def _pack(model, size_hint: int) -> bytes:
    builder = _SharingBuilder(size_hint + 1024)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_IDENTIFIER)
    return bytes(builder.Output())


def strip_metadata(tflite_bytes: bytes) -> bytes:
    """``tflite_bytes`` without the metadata `add_metadata` adds (entry, buffer, label files)."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    entries = [m for m in (model.metadata or []) if m.name.decode() == METADATA_NAME]
    if entries:
        # Empty rather than removed: other entries and tensors keep their buffer indices.
        model.buffers[entries[0].buffer] = schema.BufferT()
        model.metadata = [m for m in model.metadata if m not in entries] or None
    return _pack(model, len(tflite_bytes))


# === Reading ===


def _field(tab: Table, slot: int) -> int:
    return tab.Offset(4 + 2 * slot)


def _str(tab: Table, slot: int) -> str | None:
    o = _field(tab, slot)
    return tab.String(o + tab.Pos).decode() if o else None


def _sub(tab: Table, slot: int) -> Table | None:
    o = _field(tab, slot)
    return Table(tab.Bytes, tab.Indirect(o + tab.Pos)) if o else None


def _subs(tab: Table, slot: int) -> list[Table]:
    o = _field(tab, slot)
    if not o:
        return []
    start = tab.Vector(o)
    return [Table(tab.Bytes, tab.Indirect(start + 4 * i)) for i in range(tab.VectorLen(o))]


def _num(tab: Table, slot: int, flags, default=0):
    o = _field(tab, slot)
    return tab.Get(flags, o + tab.Pos) if o else default


def _numbers(tab: Table, slot: int, flags) -> list:
    o = _field(tab, slot)
    return [float(v) for v in tab.GetVectorAsNumpy(flags, o)] if o else []


def _bytes(tab: Table, slot: int) -> bytes:
    o = _field(tab, slot)
    if not o:
        return b""
    start = tab.Vector(o)
    return bytes(tab.Bytes[start : start + tab.VectorLen(o)])


def _root(data: bytes, identifier: bytes) -> Table:
    if data[4:8] != identifier:
        raise ValueError(f"not a {identifier.decode()} flatbuffer (identifier {data[4:8]!r})")
    return Table(bytearray(data), N.UOffsetTFlags.py_type(int.from_bytes(data[:4], "little")))


def metadata_buffer(tflite_bytes: bytes) -> bytes | None:
    """The raw ``TFLITE_METADATA`` flatbuffer of a model, or None when it has none."""
    schema = _schema()
    model = schema.Model.GetRootAs(bytearray(tflite_bytes), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode() == METADATA_NAME:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


def associated_files(tflite_bytes: bytes) -> dict[str, bytes]:
    """The files packed after the flatbuffer (``{}`` when there are none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(tflite_bytes)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return {}


def _tensor(tab: Table) -> dict:
    content = _sub(tab, 3)
    properties = _sub(content, 1) if content else None
    units = []
    for unit in _subs(tab, 4):
        options = _sub(unit, 1)
        if _num(unit, 0, N.Uint8Flags) == _NORMALIZATION_OPTIONS and options:
            units.append(
                {
                    "normalization": {
                        "mean": _numbers(options, 0, N.Float32Flags),
                        "std": _numbers(options, 1, N.Float32Flags),
                    }
                }
            )
    stats = _sub(tab, 5)
    value_range = _sub(content, 2) if content else None
    return {
        "name": _str(tab, 0),
        "description": _str(tab, 1),
        "content": None if content is None else _num(content, 0, N.Uint8Flags),
        "color_space": None if properties is None else _num(properties, 0, N.Int8Flags),
        "range": None
        if value_range is None
        else [_num(value_range, 0, N.Int32Flags), _num(value_range, 1, N.Int32Flags)],
        "process_units": units,
        "stats": None
        if stats is None
        else {"max": _numbers(stats, 0, N.Float32Flags), "min": _numbers(stats, 1, N.Float32Flags)},
        "associated_files": [
            {"name": _str(f, 0), "description": _str(f, 1), "type": _num(f, 2, N.Int8Flags)}
            for f in _subs(tab, 6)
        ],
    }


def read_metadata(tflite_bytes: bytes) -> dict | None:
    """The metadata of a model as a dict, or None when it has none.

    Keys: name, description, version, author, license, min_parser_version, input and output
    (tensor metadata dicts), activation (from SEGMENTER_METADATA, None if absent) and labels
    (the output's label file, one label per line, as MediaPipe reads it).
    """
    raw = metadata_buffer(tflite_bytes)
    if raw is None:
        return None
    root = _root(raw, METADATA_IDENTIFIER)
    subgraphs = _subs(root, 3)
    if len(subgraphs) != 1:
        raise ValueError(f"metadata describes {len(subgraphs)} subgraphs, expected 1")
    graph = subgraphs[0]
    inputs, outputs = _subs(graph, 2), _subs(graph, 3)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError("metadata describes other than one input and one output tensor")
    activation = None
    for custom in _subs(graph, 9):
        if _str(custom, 0) == SEGMENTER_METADATA_NAME:
            options = _root(_bytes(custom, 1), SEGMENTER_IDENTIFIER)
            value = _num(options, 0, N.Int8Flags)
            activation = {v: k for k, v in ACTIVATIONS.items()}[value]
    output = _tensor(outputs[0])
    files = associated_files(tflite_bytes)
    labels = None
    for f in output["associated_files"]:
        if f["type"] == _TENSOR_AXIS_LABELS:
            if f["name"] not in files:
                raise ValueError(f"metadata names label file {f['name']!r}, not in the model")
            labels = files[f["name"]].decode().splitlines()
    return {
        "name": _str(root, 0),
        "description": _str(root, 1),
        "version": _str(root, 2),
        "author": _str(root, 4),
        "license": _str(root, 5),
        "min_parser_version": _str(root, 7),
        "input": _tensor(inputs[0]),
        "output": output,
        "activation": activation,
        "labels": labels,
    }
