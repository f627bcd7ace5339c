"""Child of tests/test_mediapipe.py, run by the MediaPipe virtual environment's Python.

    <venv>/bin/python tests/mediapipe_segment.py JOB.json

JOB: ``{"models": [{"model": X.tflite, "images": [PNG...], "out": Y.npz}]}``. For each model,
MediaPipe's ImageSegmenter (confidence masks) runs on each image and ``out`` receives the masks
(``mask_<i>``, float32 HxW), the labels MediaPipe read from the metadata, and the metadata as
MediaPipe's own generated schema code parses it (an independent reader of what we wrote).
Imports only MediaPipe, numpy and Pillow from that environment: nothing of this repository.
"""

import json
import sys

import numpy as np
from PIL import Image


def official_metadata(path: str) -> dict:
    """Our metadata read with the schema code MediaPipe ships (not with mininet_lite)."""
    from mediapipe.tasks.metadata import image_segmenter_metadata_schema_py_generated as seg_fb
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta_fb
    from mediapipe.tasks.metadata import schema_py_generated as model_fb

    data = bytearray(open(path, "rb").read())
    model = model_fb.Model.GetRootAs(data, 0)
    entries = [model.Metadata(i) for i in range(model.MetadataLength())]
    found = [e for e in entries if e.Name() == b"TFLITE_METADATA"]
    if not found:
        return {}
    buf = model.Buffers(found[0].Buffer()).DataAsNumpy().tobytes()
    if not meta_fb.ModelMetadata.ModelMetadataBufferHasIdentifier(buf, 0):
        return {"error": "no M001 identifier"}
    meta = meta_fb.ModelMetadataT.InitFromPackedBuf(buf, 0)
    graph = meta.subgraphMetadata[0]
    out_md = graph.outputTensorMetadata[0]
    norm = graph.inputTensorMetadata[0].processUnits[0].options
    activation = None
    for custom in graph.customMetadata or []:
        if custom.name == b"SEGMENTER_METADATA":
            options = seg_fb.ImageSegmenterOptions.GetRootAs(bytes(bytearray(custom.data)), 0)
            activation = int(options.Activation())
    return {
        "name": meta.name.decode(),
        "license": meta.license.decode(),
        "min_parser_version": meta.minParserVersion.decode(),
        "input_mean_std": [list(map(float, norm.mean)), list(map(float, norm.std))],
        "output_files": [(f.name.decode(), int(f.type)) for f in out_md.associatedFiles],
        "activation": activation,
    }


def main(job_path: str) -> int:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    job = json.load(open(job_path))
    for item in job["models"]:
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=item["model"]),
            output_confidence_masks=True,
            output_category_mask=False,
        )
        masks = {}
        with vision.ImageSegmenter.create_from_options(options) as segmenter:
            labels = list(segmenter.labels)
            for i, image_path in enumerate(item["images"]):
                rgb = np.ascontiguousarray(np.asarray(Image.open(image_path).convert("RGB")))
                result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
                mask = result.confidence_masks[0].numpy_view()
                masks[f"mask_{i}"] = np.array(mask, np.float32).reshape(rgb.shape[:2])
        np.savez(
            item["out"],
            labels=np.array(labels, dtype=str),
            metadata=np.array(json.dumps(official_metadata(item["model"]))),
            **masks,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
