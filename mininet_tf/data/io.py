"""Image and mask decoding, normalised to what the model and the metrics expect.

* `read_image` -> ``uint8 (H, W, 3)`` RGB, whatever the file format, bit depth or colour mode.
* `read_mask` / `read_fov` -> ``uint8 (H, W)`` with values in ``{0, 1}``.
* `check_pair` -> the mask must have the image's size.

Every problem a user can fix (missing, corrupt, truncated or unsupported file, size mismatch)
is a `DataError` whose message names the file. Decoding uses Pillow; OpenCV is the fallback for
TIFF variants Pillow cannot identify. STARE ships gzipped PPMs (``.ppm.gz``): any supported
extension may carry an extra ``.gz``.

Derived field-of-view masks (STARE, CHASE_DB1 have none) are computed by `derive_fov` and cached
as PNG files by `cached_fov` (atomic writes), since a `Record` holds paths, not arrays.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mininet_lite.imagesize import ImageTooLarge, check_image_size

from .records import DataError, Record, atomic_write_bytes, sha256_file

# Extensions read by `read_image` / `read_mask` (lower case; each may also end in ".gz").
IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".gif",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
)

# Version of the `derive_fov` algorithm; part of the cache file name, bump when it changes.
FOV_ALGORITHM_VERSION = 1


class DataWarning(UserWarning):
    """A dataset oddity that was handled (e.g. a non-binary mask thresholded) but worth a look."""


def split_image_name(path: str | Path) -> tuple[str, str] | None:
    """``(stem, extension)`` of an image file name, or None when it is not a supported image.

    The extension is lower case and includes ``.gz`` when present: ``im0001.ah.ppm.gz`` ->
    ``("im0001.ah", ".ppm.gz")``.
    """
    name = Path(path).name
    lower = name.lower()
    gz = lower.endswith(".gz")
    core = lower[:-3] if gz else lower
    for ext in IMAGE_EXTENSIONS:
        if core.endswith(ext) and len(core) > len(ext):
            full = ext + (".gz" if gz else "")
            return name[: len(name) - len(full)], full
    return None


def is_image_file(path: str | Path) -> bool:
    """True for a visible regular file with a supported image extension."""
    path = Path(path)
    return not path.name.startswith(".") and split_image_name(path) is not None and path.is_file()


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def _check_supported(path: Path) -> str:
    if split_image_name(path) is None:
        raise DataError(
            f"{path}: unsupported image format {''.join(path.suffixes) or '(no extension)'!r}; "
            f"supported: {', '.join(IMAGE_EXTENSIONS)} (each optionally gzipped, e.g. .ppm.gz)"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    return split_image_name(path)[1]


def _read_bytes(path: Path, ext: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc})") from exc
    if ext.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip file ({exc})") from exc
    if not data:
        raise DataError(f"{path}: empty file")
    return data


def _decode_cv2(path: Path, data: bytes) -> np.ndarray | None:
    """OpenCV fallback (TIFF variants Pillow cannot identify). Returns RGB/grey, any depth."""
    import cv2

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        return None
    if array.ndim == 3 and array.shape[2] == 4:
        array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGB)
    elif array.ndim == 3 and array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    elif array.ndim == 3:
        array = array[..., 0]
    return array


def _to_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    """Scale any bit depth to uint8: 16-bit by 255/65535 (rounded), never by truncation."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        array = np.nan_to_num(array.astype(np.float64))
        scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.dtype.itemsize == 1:  # int8
            return np.clip(array, 0, 255).astype(np.uint8)
        # 16-bit data (also Pillow's 32-bit "I" mode holding 16-bit samples).
        wide = np.clip(array.astype(np.int64), 0, 65535)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    raise DataError(f"{path}: unsupported pixel type {array.dtype}")


def _decode(path: str | Path) -> tuple[Path, np.ndarray, str]:
    """Decode a file to an array: (H, W) grey or (H, W, 3) RGB, any depth; and the PIL mode."""
    path = Path(path)
    ext = _check_supported(path)
    data = _read_bytes(path, ext)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)  # first frame of animated GIF / multi-page TIFF
            check_image_size(path, *im.size)  # from the header, before decoding
            im.load()
            # Pixels as the photo displays (EXIF Orientation), the contract of every reader
            # and of the web and Android apps: a phone JPEG stored sideways is turned upright.
            im = ImageOps.exif_transpose(im)
            mode = im.mode
            if mode in ("1", "L", "RGB"):
                pass
            elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
                return path, np.asarray(im), mode
            elif mode in ("P", "PA"):
                im = im.convert("RGBA" if "transparency" in im.info or mode == "PA" else "RGB")
            elif mode == "LA":
                im = im.convert("L")
            else:  # RGBA, CMYK, YCbCr, LAB, HSV, RGBX...
                im = im.convert("RGB")
            if im.mode == "RGBA":
                im = im.convert("RGB")
            if im.mode == "1":
                im = im.convert("L")
            return path, np.asarray(im), mode
    except UnidentifiedImageError as exc:
        if ext.startswith((".tif", ".tiff")):
            array = _decode_cv2(path, data)
            if array is not None:
                try:  # OpenCV has no header-only read: checked after decoding
                    check_image_size(path, array.shape[1], array.shape[0])
                except ImageTooLarge as too_large:
                    raise DataError(str(too_large)) from None
                return path, array, "cv2"
        raise DataError(
            f"{path}: corrupt, truncated or not a {ext} image (the decoder cannot identify "
            "its content)"
        ) from exc
    except ImageTooLarge as exc:
        raise DataError(str(exc)) from exc
    except Image.DecompressionBombError as exc:  # only if Pillow's limit is set below ours
        raise DataError(f"{path}: image too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: corrupt or truncated image ({exc})") from exc


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as ``uint8 (H, W, 3)`` RGB.

    PNG, JPEG, BMP, TIFF (incl. LZW; 16-bit scaled by 255/65535), GIF (first frame), PPM/PGM
    and gzipped variants (``.ppm.gz``). Greyscale is replicated to 3 channels, RGBA drops
    alpha, palettes are expanded.
    """
    path, array, _ = _decode(path)
    array = _to_uint8(array, path)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise DataError(f"{path}: unexpected image shape {array.shape}")
    return np.ascontiguousarray(array)


def _mask_grey(path: str | Path) -> tuple[Path, np.ndarray]:
    """Grey level of a mask file: palettes are expanded first (DRIVE 2nd_manual: indices 0/1
    -> RGB (4,2,4)/(252,254,252)), colour masks use the brightest channel, 16-bit is scaled.
    A mask holding only the values 0 and 1 (any depth) is returned as is."""
    path, array, _ = _decode(path)
    if array.ndim == 3:
        array = array.max(axis=2)
    if array.dtype != np.uint8 and array.size and array.min() >= 0 and array.max() <= 1:
        return path, array.astype(np.uint8)
    return path, _to_uint8(array, path)


def read_mask(path: str | Path, *, threshold: int = 127) -> np.ndarray:
    """Read a binary mask as ``uint8 (H, W)`` in ``{0, 1}``.

    Foreground is grey level ``> threshold`` (on the 0-255 scale); masks already in ``{0, 1}``
    are kept. Palette masks are converted to grey through their palette first, never by their
    raw index. A mask with more than two grey levels (e.g. a JPEG-compressed mask) is still
    thresholded, with a `DataWarning` naming the file and the fraction of non-binary pixels.
    """
    path, grey = _mask_grey(path)
    counts = np.bincount(grey.ravel(), minlength=256)
    levels = np.flatnonzero(counts)
    if levels.size == 0:
        raise DataError(f"{path}: empty mask")
    if levels.max() <= 1:
        return np.array(grey, dtype=np.uint8)
    lo, hi = int(levels.min()), int(levels.max())
    if levels.size > 2:
        fraction = 1.0 - (counts[lo] + counts[hi]) / grey.size
        warnings.warn(
            f"{path}: mask is not binary: {fraction:.2%} of its pixels are neither {lo} nor "
            f"{hi} ({levels.size} grey levels, e.g. JPEG compression); thresholded at "
            f">{threshold}",
            DataWarning,
            stacklevel=2,
        )
    elif levels.size == 2 and (lo > threshold) == (hi > threshold):
        warnings.warn(
            f"{path}: mask has the two grey levels {lo} and {hi}, both on the same side of the "
            f"threshold {threshold}: the mask becomes {'all foreground' if lo > threshold else 'empty'}",
            DataWarning,
            stacklevel=2,
        )
    return (grey > threshold).astype(np.uint8)


def read_fov(path: str | Path, *, threshold: int = 127) -> np.ndarray:
    """Read a field-of-view mask: same rules as `read_mask` (``uint8 (H, W)`` in ``{0, 1}``)."""
    return read_mask(path, threshold=threshold)


def _size(array: np.ndarray) -> str:
    return f"{array.shape[1]}x{array.shape[0]}"


def check_pair(
    image: np.ndarray, mask: np.ndarray, image_path: str | Path, mask_path: str | Path
) -> None:
    """Raise a `DataError` naming both files and sizes (width x height) when they differ."""
    if tuple(image.shape[:2]) != tuple(mask.shape[:2]):
        raise DataError(
            f"size mismatch: image {image_path} is {_size(image)} but mask {mask_path} is "
            f"{_size(mask)} (width x height)"
        )


def read_record(record: Record) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Read a record's image, mask and FOV (None when absent), checking their sizes agree."""
    image = read_image(record.image)
    mask = fov = None
    if record.mask is not None:
        mask = read_mask(record.mask)
        check_pair(image, mask, record.image, record.mask)
    if record.fov is not None:
        fov = read_fov(record.fov)
        check_pair(image, fov, record.image, record.fov)
    return image, mask, fov


# --------------------------------------------------------------------------------------------
# Writing derived masks (FOV, rasterised polygons) into a cache
# --------------------------------------------------------------------------------------------


def default_cache_dir(name: str) -> Path:
    """``$MININET_CACHE_DIR/<name>``, else ``$XDG_CACHE_HOME/mininet_tf/<name>``, else
    ``~/.cache/mininet_tf/<name>``."""
    if os.environ.get("MININET_CACHE_DIR"):
        return Path(os.environ["MININET_CACHE_DIR"]).expanduser() / name
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mininet_tf" / name


def write_mask_png(path: str | Path, mask: np.ndarray) -> Path:
    """Write a {0,1} mask as a 0/255 greyscale PNG, atomically (temporary file + rename)."""
    path = Path(path)
    buffer = io.BytesIO()
    Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255, mode="L").save(
        buffer, format="PNG"
    )
    return atomic_write_bytes(path, buffer.getvalue())


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    import cv2

    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return (mask.astype(bool) | holes).astype(np.uint8)


def derive_fov(image: np.ndarray, *, erode_px: int = 3) -> np.ndarray:
    """Estimate the circular field of view of a fundus photograph: ``uint8 (H, W)`` in {0,1}.

    1. red channel (the brightest one in fundus images), 5x5 median filter;
    2. threshold: ``red > max(10, 0.1 * 99th percentile of red)``;
    3. keep the largest 8-connected component;
    4. morphological close with an elliptical kernel of diameter ``2r+1``,
       ``r = max(1, round(0.01 * min(H, W)))``, then fill holes;
    5. erode by ``erode_px`` pixels (elliptical kernel ``2*erode_px+1``) to drop the dark rim.
    """
    import cv2

    image = np.asarray(image)
    red = image[..., 0] if image.ndim == 3 else image
    red = cv2.medianBlur(np.ascontiguousarray(red, dtype=np.uint8), 5)
    threshold = max(10.0, 0.1 * float(np.percentile(red, 99)))
    binary = (red > threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return np.zeros(red.shape, np.uint8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    fov = (labels == largest).astype(np.uint8)
    r = max(1, round(0.01 * min(red.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    fov = _fill_holes(cv2.morphologyEx(fov, cv2.MORPH_CLOSE, kernel))
    if erode_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1,) * 2)
        fov = cv2.erode(fov, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return fov.astype(np.uint8)


def fov_cache_path(image_path: str | Path, cache_dir: str | Path) -> Path:
    """Where `cached_fov` keeps the derived FOV mask of ``image_path`` (it may not exist yet)."""
    image_path = Path(image_path)
    stem = (split_image_name(image_path) or (image_path.stem, ""))[0]
    digest = sha256_file(image_path)[:16]
    return Path(cache_dir).expanduser() / f"{stem}_{digest}_fov{FOV_ALGORITHM_VERSION}.png"


def cached_fov(image_path: str | Path, cache_dir: str | Path) -> Path:
    """Path of the derived FOV mask of ``image_path`` in ``cache_dir``, computed on first use.

    The cache file name holds the image stem, the first 16 hex digits of the image's sha256
    and the algorithm version, so a changed image or algorithm never reuses a stale mask.
    """
    out = fov_cache_path(image_path, cache_dir)
    if not out.is_file():
        write_mask_png(out, derive_fov(read_image(image_path)))
    return out
