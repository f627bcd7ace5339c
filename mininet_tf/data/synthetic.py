"""The embedded default dataset: deterministic synthetic segmentation tasks with exact masks.

Two kinds of task, drawn with numpy + OpenCV (no downloads, a few ms per 128x128 image):

* ``"vessels"`` — fundus-like images: an orange-red textured disc (vignetting, smooth illumination
  gradient, low-frequency noise, a bright optic disc, a darker macula, sensor noise), black
  outside a circular field of view, with thin branching vessel trees (recursive random walks
  whose width tapers from ~4 px to 1 px, darker than the background with varying contrast).
  Returns the image, the vessel mask and the FOV mask.
* ``"lesions"`` — dermoscopy-like images: one irregular pigmented lesion (radial Fourier
  perturbed contour, brown to dark colour variation, fuzzy border), sometimes a satellite, on
  pinkish-beige skin texture with a few dark hairs (drawn in the image, *not* in the mask) and
  sometimes dark vignetted corners. The FOV is all ones.

Every sample is a pure function of ``(kind, size, seed, index)``: sample ``i`` is the same
whatever ``n`` is. `materialize` writes a folder dataset (PNG files + ``dataset.json``) atomically
and reuses it when called again with the same arguments; `load_split` turns it into `Record`
lists for ``train``/``val``/``test``/``all``, as the dataset registry expects.

Usage:
    >>> from mininet_tf.data.synthetic import generate, materialize, load_split
    >>> images, masks, fovs = generate("vessels", 4, size=(128, 128), seed=0)
    >>> train = load_split(None, "train")         # cached under ~/.cache/mininet_tf/synthetic
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mininet_tf.data.io import default_cache_dir as _io_cache_dir
from mininet_tf.data.records import SPLITS, DataError, Record, atomic_write_text

KINDS = ("vessels", "lesions")
#: Bumped whenever the drawing code changes, so stale caches are regenerated in a new folder.
GENERATOR_VERSION = 1
#: Defaults of `load_split` (``python -m mininet_tf.train`` on them takes a few CPU minutes).
DEFAULT_N = 48
DEFAULT_SIZE = (128, 128)
#: Test samples use indices from here on, so the test set does not depend on ``n``.
TEST_INDEX_OFFSET = 1_000_000
_KIND_CODES = {"vessels": 1, "lesions": 2}
_MARKER = "dataset.json"
#: Sub-folders written per split. Lesion images have no field of view (it is the whole image,
#: like dermoscopy datasets), so their records carry ``fov=None`` and no FOV files are written.
_SUBDIRS = {"vessels": ("images", "masks", "fov"), "lesions": ("images", "masks")}


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def generate(
    kind: str, n: int, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0, *, start: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` samples of a synthetic task.

    Args:
        kind: "vessels" or "lesions".
        n: number of samples.
        size: (H, W) of every sample.
        seed: dataset seed; sample ``i`` depends only on (kind, size, seed, i).
        start: index of the first sample (the test split uses `TEST_INDEX_OFFSET`).

    Returns:
        images uint8 (n, H, W, 3) RGB, masks uint8 (n, H, W) in {0, 1}, fovs uint8 (n, H, W)
        in {0, 1}.
    """
    kind = _check_kind(kind)
    height, width = _check_size(size)
    if int(n) < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    images = np.zeros((n, height, width, 3), np.uint8)
    masks = np.zeros((n, height, width), np.uint8)
    fovs = np.zeros((n, height, width), np.uint8)
    for i in range(int(n)):
        sample = _sample(kind, (height, width), seed, start + i)
        images[i], masks[i], fovs[i] = sample["image"], sample["mask"], sample["fov"]
    return images, masks, fovs


def materialize(
    root: str | os.PathLike,
    kind: str = "vessels",
    n: int = DEFAULT_N,
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int = 0,
    n_test: int | None = None,
) -> Path:
    """Write a synthetic folder dataset and return its root.

    Layout: ``root/{train,test}/{images,masks,fov}/NNNN.png`` (masks and FOV as 0/255 PNG) plus
    ``root/dataset.json`` with the generator arguments. Lesion datasets have no ``fov`` folder
    (their FOV is the whole image; records get ``fov=None``). The folder is built in a temporary
    sibling directory and renamed into place, so a crash never leaves half a dataset.

    If ``root`` already holds a dataset generated with identical arguments it is reused as is
    (idempotent cache). If it holds anything else — a different synthetic dataset, or files
    that are not ours — a `DataError` is raised and nothing is touched. An empty directory is
    filled.

    Args:
        root: dataset folder.
        kind: "vessels" or "lesions".
        n: number of training images (validation is carved out of them by `load_split`).
        size: (H, W).
        seed: dataset seed.
        n_test: number of test images; default ``max(1, n // 3)``.
    """
    root = Path(root).expanduser()
    spec = _spec(kind, n, size, seed, n_test)
    if _existing_ok(root, spec):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.", suffix=".tmp"))
    try:
        for split, count, start in (
            ("train", spec["n"], 0),
            ("test", spec["n_test"], TEST_INDEX_OFFSET),
        ):
            for sub in _SUBDIRS[spec["kind"]]:
                (tmp / split / sub).mkdir(parents=True)
            for i in range(count):
                sample = _sample(spec["kind"], tuple(spec["size"]), spec["seed"], start + i)
                name = f"{i:04d}.png"
                _write_png(tmp / split / "images" / name, sample["image"])
                _write_png(tmp / split / "masks" / name, sample["mask"] * 255)
                if "fov" in _SUBDIRS[spec["kind"]]:
                    _write_png(tmp / split / "fov" / name, sample["fov"] * 255)
        atomic_write_text(tmp / _MARKER, json.dumps(spec, indent=2) + "\n")
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        try:
            os.rename(tmp, root)
        except OSError:
            # Someone else materialised it concurrently: accept theirs if it is identical.
            if _existing_ok(root, spec):
                return root
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def default_cache_dir(
    kind: str = "vessels", n: int = DEFAULT_N, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0
) -> Path:
    """Where `load_split` keeps a dataset when ``data_dir`` is None:
    ``<cache>/synthetic/<kind>-<H>x<W>-<n>-seed<seed>``, ``<cache>`` being ``$MININET_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/mininet_tf``, else ``~/.cache/mininet_tf`` (see
    `mininet_tf.data.io.default_cache_dir`)."""
    height, width = _check_size(size)
    return _io_cache_dir(f"synthetic/{_check_kind(kind)}-{height}x{width}-{int(n)}-seed{int(seed)}")


def load_split(
    data_dir: str | os.PathLike | None,
    split: str,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    kind: str = "vessels",
    n: int = DEFAULT_N,
    size: tuple[int, int] = DEFAULT_SIZE,
    n_test: int | None = None,
    data_seed: int = 0,
) -> list[Record]:
    """Records of one split of a synthetic dataset, materialising it first if needed.

    Args:
        data_dir: the dataset folder (see `materialize`), or None for `default_cache_dir`.
        split: "train", "val", "test" or "all" (train + test).
        val_fraction: fraction of the generated training images held out as "val", chosen by a
            fixed permutation seeded with ``seed`` (0 -> no validation images).
        seed: split seed (which training images become validation).
        kind, n, size, n_test: generator arguments (see `materialize`).
        data_seed: generator seed (which images are drawn), kept apart from the split seed so
            that changing ``seed`` re-splits the same images.

    Returns:
        Records sorted by id; ids are ``"<split folder>/<NNNN>"`` so train and test ids differ.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    kind = _check_kind(kind)
    root = Path(data_dir) if data_dir is not None else default_cache_dir(kind, n, size, data_seed)
    root = materialize(root, kind=kind, n=n, size=size, seed=data_seed, n_test=n_test)

    has_fov = "fov" in _SUBDIRS[kind]

    def records(folder: str, indices) -> list[Record]:
        base = root / folder
        out = []
        for i in sorted(indices):
            name = f"{i:04d}.png"
            out.append(
                Record(
                    base / "images" / name,
                    base / "masks" / name,
                    base / "fov" / name if has_fov else None,
                    id=f"{folder}/{i:04d}",
                )
            )
        return out

    spec = json.loads((root / _MARKER).read_text())
    n_train_total = int(spec["n"])
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 7919])).permutation(
        n_train_total
    )
    n_val = int(round(n_train_total * float(val_fraction)))
    if val_fraction > 0 and n_train_total >= 2:
        n_val = min(max(n_val, 1), n_train_total - 1)
    val_idx, train_idx = order[:n_val], order[n_val:]
    test_idx = range(int(spec["n_test"]))
    if split == "train":
        return records("train", train_idx)
    if split == "val":
        return records("train", val_idx)
    if split == "test":
        return records("test", test_idx)
    return records("train", range(n_train_total)) + records("test", test_idx)


# ---------------------------------------------------------------------------------------------
# Folder dataset helpers
# ---------------------------------------------------------------------------------------------


def _spec(kind, n, size, seed, n_test) -> dict:
    kind = _check_kind(kind)
    height, width = _check_size(size)
    n = int(n)
    if n < 1:
        raise DataError(f"n must be >= 1, got {n}")
    n_test = max(1, n // 3) if n_test is None else int(n_test)
    if n_test < 0:
        raise DataError(f"n_test must be >= 0, got {n_test}")
    return {
        "generator": "mininet_tf.data.synthetic",
        "version": GENERATOR_VERSION,
        "kind": kind,
        "n": n,
        "n_test": n_test,
        "size": [height, width],
        "seed": int(seed),
    }


def _existing_ok(root: Path, spec: dict) -> bool:
    """True if ``root`` holds exactly this dataset; False if absent/empty; else DataError."""
    if not root.exists():
        return False
    if not root.is_dir():
        raise DataError(f"{root}: exists and is not a directory; refusing to overwrite it")
    marker = root / _MARKER
    if not marker.is_file():
        if any(root.iterdir()):
            raise DataError(
                f"{root}: not empty and has no {_MARKER}, so it is not a synthetic dataset; "
                "refusing to overwrite it (choose another folder)"
            )
        return False
    try:
        found = json.loads(marker.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{marker}: unreadable ({err}); refusing to overwrite {root}") from err
    if not isinstance(found, dict) or found.get("generator") != spec["generator"]:
        raise DataError(f"{marker}: not written by {spec['generator']}; refusing to overwrite")
    if found != spec:
        diff = {k: (found.get(k), v) for k, v in spec.items() if found.get(k) != v}
        raise DataError(
            f"{root}: holds a synthetic dataset generated with different arguments "
            f"(found vs requested: {diff}); refusing to overwrite it — delete it or choose "
            "another folder"
        )
    for split, count in (("train", spec["n"]), ("test", spec["n_test"])):
        for sub in _SUBDIRS[spec["kind"]]:
            folder = root / split / sub
            have = len(list(folder.glob("*.png"))) if folder.is_dir() else 0
            if have != count:
                raise DataError(
                    f"{folder}: expected {count} PNG files, found {have}; the synthetic dataset "
                    f"at {root} is incomplete — delete it to regenerate"
                )
    return True


def _write_png(path: Path, array: np.ndarray) -> None:
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), array):
        raise DataError(f"{path}: could not write PNG")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise DataError(f"unknown synthetic kind {kind!r}; expected one of {KINDS}")
    return kind


def _check_size(size) -> tuple[int, int]:
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError) as err:
        raise DataError(f"size must be (H, W), got {size!r}") from err
    if height < 16 or width < 16:
        raise DataError(f"size must be at least 16x16, got {height}x{width}")
    return height, width


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------


def _sample(kind: str, size: tuple[int, int], seed: int, index: int) -> dict:
    """One sample as a dict: image (H,W,3) uint8, mask, fov (H,W) uint8 {0,1}, and for
    lesions ``hairs`` (H,W) uint8 {0,1}, the hair pixels drawn into the image only."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _KIND_CODES[kind], int(index)]))
    if kind == "vessels":
        return _vessels(rng, size)
    return _lesions(rng, size)


def _smooth_noise(rng, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Zero-mean, unit-ish-std noise varying over about ``cells`` cells per side."""
    height, width = shape
    grid = rng.standard_normal((cells + 3, cells + 3)).astype(np.float32)
    big = cv2.resize(
        grid, (width + 2 * width // cells, height + 2 * height // cells), cv2.INTER_CUBIC
    )
    oy, ox = height // cells, width // cells
    out = big[oy : oy + height, ox : ox + width]
    return (out - out.mean()) / (out.std() + 1e-6)


def _vessels(rng, size):
    height, width = size
    short = min(height, width)
    scale = short / 128.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    # Field of view: a disc filling most of the frame (slightly off-centre).
    radius = short * rng.uniform(0.44, 0.48)
    cy = height / 2 + rng.uniform(-0.02, 0.02) * short
    cx = width / 2 + rng.uniform(-0.02, 0.02) * short
    r = np.hypot(yy - cy, xx - cx) / radius
    fov = (r <= 1.0).astype(np.uint8)

    # Background: orange-red, vignetting, illumination gradient, low-frequency texture.
    base = np.array([rng.uniform(170, 225), rng.uniform(60, 105), rng.uniform(15, 45)], np.float32)
    phi = rng.uniform(0, 2 * np.pi)
    gradient = 1 + rng.uniform(0.05, 0.25) * (
        (np.cos(phi) * (xx - cx) + np.sin(phi) * (yy - cy)) / radius
    )
    vignette = 1 - rng.uniform(0.25, 0.5) * r**2
    texture = (
        1
        + 0.07 * _smooth_noise(rng, (height, width), 4)
        + 0.035 * _smooth_noise(rng, (height, width), 12)
    )
    shade = (gradient * vignette * texture)[..., None]
    tint = 1 + 0.04 * np.stack([_smooth_noise(rng, (height, width), 6) for _ in range(3)], -1)
    image = base * shade * tint

    # Optic disc (bright, yellowish) to one side, macula (darker) on the other.
    side = rng.choice([-1.0, 1.0])
    od_y = cy + rng.uniform(-0.12, 0.12) * radius
    od_x = cx + side * rng.uniform(0.5, 0.65) * radius
    od_r = radius * rng.uniform(0.11, 0.15)
    d_od = np.hypot(yy - od_y, xx - od_x)
    disc = 1 / (1 + np.exp((d_od - od_r) / max(1.0, 0.25 * od_r)))
    image += disc[..., None] * np.array(
        [rng.uniform(40, 70), rng.uniform(60, 100), rng.uniform(30, 60)], np.float32
    )
    mac_y, mac_x = cy + rng.uniform(-0.08, 0.08) * radius, cx - side * 0.15 * radius
    d_mac = np.hypot(yy - mac_y, xx - mac_x) / (0.3 * radius)
    image *= (1 - rng.uniform(0.1, 0.25) * np.exp(-(d_mac**2)))[..., None]

    # Vessel trees from the optic disc: mask (exact) and per-vessel darkness (contrast).
    mask = np.zeros((height, width), np.uint8)
    dark = np.zeros((height, width), np.float32)
    w_trunk = rng.uniform(2.5, 3.5) * max(1.0, scale / 2)
    n_trunks = int(rng.integers(4, 7))
    angles = np.linspace(0, 2 * np.pi, n_trunks, endpoint=False) + rng.uniform(0, 2 * np.pi)
    angles += rng.uniform(-0.3, 0.3, n_trunks)
    ctx = (cx, cy, radius * 0.985, od_x, od_y, max(1.0, scale / 2))
    for angle in angles:
        budget = [int(600 * scale)]  # segments per tree: bounds the cost of deep trees
        start = np.array([od_x, od_y]) + 0.3 * od_r * np.array([np.cos(angle), np.sin(angle)])
        _grow(
            rng,
            mask,
            dark,
            start,
            angle,
            w_trunk * rng.uniform(0.75, 1.0),
            radius * rng.uniform(1.4, 2.0),
            rng.uniform(0.3, 0.55),
            ctx,
            0,
            budget,
        )
    mask &= fov
    dark = cv2.GaussianBlur(dark, (0, 0), 0.6 * max(1.0, scale / 2))
    image *= 1 - dark[..., None] * np.array([0.5, 0.85, 0.7], np.float32)

    image += rng.normal(0, rng.uniform(1.5, 4.0), image.shape).astype(np.float32)
    image *= fov[..., None]
    image = np.clip(image, 0, 255).round().astype(np.uint8)
    return {"image": image, "mask": mask, "fov": fov}


def _grow(rng, mask, dark, point, theta, width, length, contrast, ctx, depth, budget):
    """Recursive tapering random walk; draws into ``mask`` (1) and ``dark`` (contrast).

    The heading wanders smoothly and is pulled gently away from the optic disc, so the trees
    fan out over the fundus instead of curling up; children branch off at 25-60 degrees,
    thinner and fainter than their parent.
    """
    cx, cy, radius, od_x, od_y, step = ctx
    n_steps = max(1, int(length / step))
    omega = 0.0
    w = width
    p = np.asarray(point, np.float64)
    factor = 1 << 4  # cv2 fixed-point shift for sub-pixel end points
    for s in range(n_steps):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        outward = np.arctan2(p[1] - od_y, p[0] - od_x)
        pull = np.angle(np.exp(1j * (outward - theta)))
        omega = 0.8 * omega + rng.normal(0, 0.03) + 0.015 * pull
        theta += omega
        q = p + step * np.array([np.cos(theta), np.sin(theta)])
        if np.hypot(q[0] - cx, q[1] - cy) > radius:
            return
        w_here = max(1.0, w * (1 - 0.6 * s / n_steps))
        thickness = max(1, int(round(w_here)))
        a = (int(round(p[0] * factor)), int(round(p[1] * factor)))
        b = (int(round(q[0] * factor)), int(round(q[1] * factor)))
        cv2.line(mask, a, b, 1, thickness, cv2.LINE_8, 4)
        cv2.line(dark, a, b, float(contrast), thickness, cv2.LINE_8, 4)
        p = q
        remaining = length - s * step
        if depth < 5 and remaining > 10 * step and rng.random() < 0.045:
            branch_side = rng.choice([-1.0, 1.0])
            _grow(
                rng,
                mask,
                dark,
                p,
                theta + branch_side * rng.uniform(0.45, 1.05),
                max(1.0, w_here * rng.uniform(0.45, 0.75)),
                remaining * rng.uniform(0.4, 0.8),
                float(np.clip(contrast * rng.uniform(0.7, 1.0), 0.12, 0.6)),
                ctx,
                depth + 1,
                budget,
            )
            w *= 0.9
            theta -= branch_side * rng.uniform(0.05, 0.2)


def _lesions(rng, size):
    height, width = size
    short = min(height, width)
    scale = short / 128.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    # Skin: pinkish-beige, low-frequency blotches, fine grain.
    base = np.array(
        [rng.uniform(200, 240), rng.uniform(150, 190), rng.uniform(130, 170)], np.float32
    )
    shade = (
        1
        + 0.05 * _smooth_noise(rng, (height, width), 3)
        + 0.03 * _smooth_noise(rng, (height, width), 10)
    )
    tint = 1 + 0.03 * np.stack([_smooth_noise(rng, (height, width), 5) for _ in range(3)], -1)
    image = base * shade[..., None] * tint
    grain = cv2.GaussianBlur(
        rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.8 * scale
    )
    image += (6 * grain / (grain.std() + 1e-6))[..., None]

    # Lesion shape: radial Fourier perturbed contour, plus an occasional satellite.
    mask = np.zeros((height, width), np.uint8)
    cy = height / 2 + rng.uniform(-0.12, 0.12) * height
    cx = width / 2 + rng.uniform(-0.12, 0.12) * width
    r0 = short * rng.uniform(0.15, 0.3)
    _fill_blob(rng, mask, cx, cy, r0, n_harmonics=6, roughness=0.12)
    if rng.random() < 0.35:
        ang = rng.uniform(0, 2 * np.pi)
        dist = r0 * rng.uniform(1.15, 1.45)
        _fill_blob(
            rng,
            mask,
            cx + dist * np.cos(ang),
            cy + dist * np.sin(ang),
            r0 * rng.uniform(0.12, 0.25),
            n_harmonics=3,
            roughness=0.15,
        )

    # Pigment: brown to dark, darker towards the centre, blotchy; fuzzy border.
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    depth = np.clip(inside / (0.6 * r0), 0, 1)
    light = np.array([rng.uniform(130, 170), rng.uniform(80, 110), rng.uniform(55, 80)])
    darkc = np.array([rng.uniform(45, 80), rng.uniform(30, 50), rng.uniform(25, 45)])
    blotch = np.clip(0.5 * depth + 0.25 + 0.25 * _smooth_noise(rng, (height, width), 6), 0, 1)
    pigment = light * (1 - blotch[..., None]) + darkc * blotch[..., None]
    pigment *= 1 + 0.05 * _smooth_noise(rng, (height, width), 16)[..., None]
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), rng.uniform(1.0, 2.5) * scale)
    alpha = np.clip(alpha * 1.05, 0, 1)
    image = image * (1 - alpha[..., None]) + pigment * alpha[..., None]

    # Hairs: thin dark quadratic curves, in the image only.
    hairs = np.zeros((height, width), np.uint8)
    for _ in range(int(rng.integers(0, 6))):
        p0 = rng.uniform(0, 1, 2) * (width, height)
        p2 = rng.uniform(0, 1, 2) * (width, height)
        p1 = (p0 + p2) / 2 + rng.normal(0, 0.2 * short, 2)
        t = np.linspace(0, 1, 64)[:, None]
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        pts = np.round(curve * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(hairs, [pts], False, 1, max(1, int(round(scale))), cv2.LINE_8, 4)
    hair_alpha = cv2.GaussianBlur(hairs.astype(np.float32), (0, 0), 0.5) * 0.85
    hair_colour = np.array([rng.uniform(25, 60), rng.uniform(20, 40), rng.uniform(15, 35)])
    image = image * (1 - hair_alpha[..., None]) + hair_colour * hair_alpha[..., None]

    # Dark vignetted corners (dermatoscope lens), sometimes.
    if rng.random() < 0.5:
        r = np.hypot((yy - height / 2) / (height / 2), (xx - width / 2) / (width / 2))
        edge = rng.uniform(1.05, 1.3)
        falloff = np.clip((r - edge) / 0.15, 0, 1)
        image *= (1 - 0.9 * falloff)[..., None]

    image += rng.normal(0, rng.uniform(1.0, 3.0), image.shape)
    image = np.clip(image, 0, 255).round().astype(np.uint8)
    return {
        "image": image,
        "mask": mask,
        "fov": np.ones((height, width), np.uint8),
        "hairs": hairs,
    }


def _fill_blob(rng, mask, cx, cy, r0, *, n_harmonics, roughness):
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 2 + n_harmonics):
        radius += (
            rng.uniform(0, roughness)
            / np.sqrt(k - 1)
            * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        )
    radius *= 1 + rng.uniform(-0.2, 0.2) * np.cos(2 * (theta - rng.uniform(0, np.pi)))
    radius = np.clip(radius, 0.4, None) * r0
    pts = np.stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)], -1)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
