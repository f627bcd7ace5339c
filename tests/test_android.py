"""The Android demo (`android_demo/`) as far as it can be checked without the Android SDK.

- The pure-Kotlin core (`dev.mininet.demo.core`, no android.* imports) and its JUnit 4 tests are
  compiled with kotlinc (npm package `kotlin-compiler`, the version pinned in the Gradle version
  catalog) against Debian's junit4 and run here; any failing JVM test fails this file. The same
  test sources run under `./gradlew test` in Android Studio.
- The golden files are checked from the Python side: the numpy twin of Pillow's BILINEAR
  (`android_demo/tools/pillow_resample.py`) against Pillow itself, and the committed goldens
  against the Python reference path (`mininet_lite`). When the shipped int8 model exists, fresh
  goldens are generated from it and the Kotlin golden tests run on them as well.
- `res/` and the manifest are link-checked with Debian's aapt against framework-res.apk.

The tools (kotlinc from npm into a user cache, Debian's junit4, aapt, android-framework-res and
a JDK) are installed by `.ci/install_test_tools.sh`, which `.ci/run` calls; these tests install
nothing and skip, saying why, when a tool is absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# Exports, QAT or external tools: outside the fast loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ANDROID = ROOT / "android_demo"
APP = ANDROID / "app"
CORE_MAIN = APP / "src" / "main" / "java" / "dev" / "mininet" / "demo" / "core"
CORE_TEST = APP / "src" / "test" / "java" / "dev" / "mininet" / "demo" / "core"
TEST_RESOURCES = APP / "src" / "test" / "resources"
GOLDEN = TEST_RESOURCES / "golden"
TOOLS = ANDROID / "tools"
# Overridable to try the generator on another int8 export without touching tflite/models/.
SHIPPED_MODEL = Path(
    os.environ.get(
        "MININET_ANDROID_MODEL", ROOT / "tflite" / "models" / "mininet_isic2017_fast_int8.tflite"
    )
)
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
CACHE = Path(
    os.environ.get("MININET_ANDROID_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mininet_android"
)

sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(ROOT / "tflite"))


def _run(cmd, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def kotlin_version() -> str:
    toml = (ANDROID / "gradle" / "libs.versions.toml").read_text()
    match = re.search(r'^kotlin\s*=\s*"([^"]+)"', toml, re.M)
    assert match, "libs.versions.toml pins no kotlin version"
    return match.group(1)


INSTALLER = ".ci/install_test_tools.sh"


def _missing(what: str) -> str:
    return f"{what} is not installed (bash {INSTALLER} installs it)"


@pytest.fixture(scope="module")
def kotlinc() -> Path:
    """kotlinc of the catalog's Kotlin version, from npm, cached per user."""
    version = kotlin_version()
    override = os.environ.get("MININET_KOTLINC")
    if override:
        return Path(override)
    prefix = CACHE / f"kotlin-{version}"
    home = prefix / "node_modules" / "kotlin-compiler"
    kotlinc = home / "bin" / "kotlinc"
    if not kotlinc.is_file():
        pytest.skip(_missing(f"kotlinc {version} ({kotlinc})"))
    build = (home / "build.txt").read_text().strip()
    assert build.startswith(version), f"{home} is Kotlin {build}, the catalog pins {version}"
    return kotlinc


@pytest.fixture(scope="module")
def junit_classpath() -> list[Path]:
    def find():
        junit = Path("/usr/share/java/junit4.jar")
        hamcrest = next(
            (
                p
                for p in (
                    Path("/usr/share/java/hamcrest-core.jar"),
                    Path("/usr/share/java/hamcrest.jar"),
                )
                if p.is_file()
            ),
            None,
        )
        return [junit, hamcrest] if junit.is_file() and hamcrest else None

    jars = find()
    if jars is None:
        pytest.skip(_missing("JUnit 4 (Debian junit4)"))
    if shutil.which("java") is None:
        pytest.skip(_missing("java"))
    return jars


def _sources(*dirs: Path) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("*.kt"))


@pytest.fixture(scope="module")
def compiled(kotlinc, junit_classpath) -> Path:
    """Core + tests compiled once; cached by a hash of the sources and compiler version."""
    sources = _sources(CORE_MAIN, CORE_TEST)
    digest = hashlib.sha256(kotlin_version().encode())
    for path in sources:
        digest.update(str(path.relative_to(APP)).encode())
        digest.update(path.read_bytes())
    out = CACHE / "classes" / digest.hexdigest()[:16]
    if (out / ".complete").is_file():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.monotonic()
    result = _run(
        [
            str(kotlinc),
            "-jvm-target",
            "17",
            "-nowarn",
            "-cp",
            os.pathsep.join(map(str, junit_classpath)),
            "-d",
            str(out),
            *map(str, sources),
        ],
        timeout=900,
    )
    assert result.returncode == 0, f"kotlinc failed:\n{result.stdout}\n{result.stderr}"
    (out / ".complete").write_text(f"{time.monotonic() - started:.1f} s\n")
    return out


def _stdlib(kotlinc: Path) -> Path:
    return kotlinc.parents[1] / "lib" / "kotlin-stdlib.jar"


def _test_classes() -> list[str]:
    names = []
    for path in sorted(CORE_TEST.glob("*Test.kt")):
        names.append("dev.mininet.demo.core." + path.stem)
    return names


def _junit(kotlinc, junit_classpath, compiled, classes, golden_dir: Path | None = None):
    cp = [compiled, _stdlib(kotlinc), *junit_classpath, TEST_RESOURCES]
    cmd = ["java", "-Xss8m", "-cp", os.pathsep.join(map(str, cp))]
    if golden_dir is not None:
        cmd.append(f"-Dgolden.dir={golden_dir}")
    return _run([*cmd, "org.junit.runner.JUnitCore", *classes], timeout=600)


# === Source-level checks (no tools) ===


def test_core_has_no_android_imports():
    offenders = [
        f"{p.relative_to(ROOT)}: {line.strip()}"
        for p in _sources(CORE_MAIN, CORE_TEST)
        for line in p.read_text().splitlines()
        if re.match(r"\s*import\s+(android|androidx|org\.json|org\.tensorflow)\.", line)
    ]
    assert not offenders, "the core must stay pure Kotlin/JVM:\n" + "\n".join(offenders)


def test_project_layout_and_pins():
    toml = (ANDROID / "gradle" / "libs.versions.toml").read_text()
    for key in ("agp", "kotlin", "litert", "camerax", "composeBom"):
        assert re.search(rf'^{key}\s*=\s*"\d[\w.\-]*"', toml, re.M), f"{key} is not pinned"
    values = [line for line in toml.splitlines() if not line.lstrip().startswith("#")]
    assert not [v for v in values if "+" in v or "latest" in v], "dynamic versions in the catalog"
    for artifact in ('name = "litert"', 'name = "litert-gpu"'):
        assert artifact in toml
    app_build = (APP / "build.gradle.kts").read_text()
    # The bundled model defaults to the ISIC-2017 export; -PmininetModel picks another one.
    assert re.search(r'\?: "mininet_isic2017_fast_int8"', app_build), "default bundled model"
    assert '"$bundledModel.tflite"' in app_build and '"$bundledModel.json"' in app_build
    assert (
        "BuildConfig.MODEL_ASSET"
        in (APP / "src/main/java/dev/mininet/demo/ml/LiteRtSegmenter.kt").read_text()
    )
    assert "addGeneratedSourceDirectory" in app_build, "model assets must come from the copy task"
    assert re.search(r"minSdk = \d+", app_build) and re.search(r"targetSdk = \d+", app_build)
    assert not list(ANDROID.rglob("gradle-wrapper.jar")), "no wrapper binary is committed"
    assert not list((APP / "src" / "main").rglob("*.tflite")), "the model is copied at build time"
    strings = (APP / "src" / "main" / "res" / "values" / "strings.xml").read_text()
    assert "Research use only" in strings and "not a diagnosis" in strings
    assert (ANDROID / "README.md").is_file()


# === JVM tests ===


def test_jvm_unit_tests(kotlinc, junit_classpath, compiled):
    classes = _test_classes()
    assert len(classes) >= 10
    started = time.monotonic()
    result = _junit(kotlinc, junit_classpath, compiled, classes)
    output = result.stdout + result.stderr
    ok = re.search(r"^OK \((\d+) tests?\)", output, re.M)
    assert result.returncode == 0 and ok, f"JUnit failures:\n{output[-6000:]}"
    count = int(ok.group(1))
    assert count >= 50, output
    print(
        f"\nJUnit: {count} passed, 0 failed in {time.monotonic() - started:.1f} s "
        f"(compile: {(compiled / '.complete').read_text().strip()})"
    )


def test_golden_test_detects_a_wrong_golden(kotlinc, junit_classpath, compiled, tmp_path):
    """The golden comparison really compares: one altered digest must fail it."""
    broken = tmp_path / "golden"
    shutil.copytree(GOLDEN, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["samples"][0]["input_sha256"] = "0" * 64
    (broken / "manifest.json").write_text(json.dumps(manifest))
    result = _junit(
        kotlinc, junit_classpath, compiled, ["dev.mininet.demo.core.GoldenTest"], broken
    )
    assert result.returncode != 0
    assert "preprocessingReproducesTheInputTensorBytes" in result.stdout


# === Python side of the contract ===


def test_numpy_resample_is_pillow_bilinear():
    """The app's resize contract equals Pillow's BILINEAR bit for bit (uint8 and float32)."""
    import pillow_resample

    from mininet_lite import tiling

    rng = np.random.default_rng(0)
    cases = [
        (3000, 4000, 192, 192),
        (1000, 750, 192, 192),
        (144, 192, 192, 192),
        (37, 29, 192, 192),
        (192, 192, 1536, 2048),
        (192, 192, 97, 61),
        (500, 499, 192, 192),
    ]
    for h, w, oh, ow in cases:
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert np.array_equal(
            pillow_resample.resize_uint8(image, oh, ow), tiling.resize_uint8(image, oh, ow)
        ), (h, w, oh, ow)
        if h * w <= 1_000_000:
            prob = rng.random((h, w)).astype(np.float32)
            ours = pillow_resample.resize_float(prob, oh, ow)
            theirs = tiling.resize_float(prob, oh, ow)
            assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)), (h, w, oh, ow)


def test_yuv_vectors_are_what_the_generator_writes(tmp_path):
    """The live preview's YUV -> RGB vectors come from the numpy generator, byte for byte."""
    out = tmp_path / "vectors.json"
    result = _run([sys.executable, str(TOOLS / "make_yuv_vectors.py"), "--out", str(out)], cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.read_bytes() == (TEST_RESOURCES / "yuv" / "vectors.json").read_bytes()


def test_committed_goldens_follow_the_python_reference():
    """Committed goldens = synthetic images -> numpy contract -> same masks as mininet_lite."""
    import make_goldens
    from PIL import Image

    from mininet_lite import tiling
    from mininet_tf.data.synthetic import generate

    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    model = manifest["model"]
    th, tw = model["input_height"], model["input_width"]
    for sample in manifest["samples"]:
        h, w = sample["height"], sample["width"]
        images, _, _ = generate("lesions", 1, size=(h, w), seed=sample["seed"])
        stored = np.asarray(Image.open(GOLDEN / sample["image"]))
        assert np.array_equal(images[0], stored), "synthetic generator drifted: rerun make_goldens"
        tensor = np.asarray(Image.open(GOLDEN / sample["input"]))
        assert np.array_equal(tensor, tiling.resize_uint8(stored, th, tw))
        raw = np.frombuffer((GOLDEN / sample["output"]).read_bytes(), np.uint8).reshape(th, tw, 1)
        if model["output_dtype"] == "int8":
            raw = raw.view(np.int8)
        prob_small = make_goldens.dequantize(
            raw, model["output_dtype"], model["output_scale"], model["output_zero_point"]
        )[..., 0]
        pillow_mask = tiling.resize_float(prob_small, h, w) >= model["threshold"]
        plain = np.asarray(Image.open(GOLDEN / sample["variants"]["plain"]["mask"])) > 0
        agreement = float((plain == pillow_mask).mean())
        assert agreement == 1.0, f"{sample['name']}: mask agreement with Pillow path {agreement}"
        for variant in sample["variants"].values():
            mask = np.asarray(Image.open(GOLDEN / variant["mask"])) > 0
            assert variant["measurements"]["area_px"] == int(mask.sum())
    sizes = {p.name: p.stat().st_size for p in GOLDEN.iterdir()}
    assert max(sizes.values()) < 100_000, sizes


def test_goldens_from_the_shipped_model(kotlinc, junit_classpath, compiled, tmp_path):
    """With the shipped int8 model present: fresh goldens from it, and the Kotlin core on them."""
    if not SHIPPED_MODEL.is_file():
        pytest.skip(f"{SHIPPED_MODEL} not shipped yet")
    pytest.importorskip("ai_edge_litert")
    out = tmp_path / "golden"
    result = _run(
        [
            sys.executable,
            str(TOOLS / "make_goldens.py"),
            "--model",
            str(SHIPPED_MODEL),
            "--out",
            str(out),
        ],
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    junit = _junit(
        kotlinc,
        junit_classpath,
        compiled,
        ["dev.mininet.demo.core.GoldenTest", "dev.mininet.demo.core.ModelCardTest"],
        out,
    )
    assert junit.returncode == 0 and "OK (" in junit.stdout, junit.stdout[-6000:]
    committed = json.loads((GOLDEN / "manifest.json").read_text())["model"]["sha256"]
    fresh = json.loads((out / "manifest.json").read_text())["model"]["sha256"]
    if committed == fresh:
        # Same model: the committed files must be exactly what the generator writes.
        for path in GOLDEN.iterdir():
            assert path.read_bytes() == (out / path.name).read_bytes(), f"{path.name} differs"
    else:
        print(
            f"\nnote: committed goldens were made with model {committed[:12]}, shipped is "
            f"{fresh[:12]}; rerun android_demo/tools/make_goldens.py to refresh them"
        )


# === Resources ===


def test_resources_and_manifest_link_with_aapt(tmp_path):
    """Debian's aapt (v1; Debian has no aapt2) links res/ + manifest against API 29 framework."""
    if shutil.which("aapt") is None or not FRAMEWORK_RES.is_file():
        pytest.skip(_missing("aapt with android-framework-res"))
    build = (APP / "build.gradle.kts").read_text()
    namespace = re.search(r'namespace = "([^"]+)"', build).group(1)
    # What the manifest merger would do: package from `namespace`, placeholders filled in.
    manifest = (APP / "src" / "main" / "AndroidManifest.xml").read_text()
    manifest = manifest.replace("<manifest ", f'<manifest package="{namespace}" ', 1)
    manifest = manifest.replace("${applicationId}", namespace)
    (tmp_path / "AndroidManifest.xml").write_text(manifest)
    result = _run(
        [
            "aapt",
            "package",
            "-f",
            "-M",
            str(tmp_path / "AndroidManifest.xml"),
            "-S",
            str(APP / "src" / "main" / "res"),
            "-I",
            str(FRAMEWORK_RES),
            "--min-sdk-version",
            "26",
            "--target-sdk-version",
            "29",
            "-F",
            str(tmp_path / "res.apk"),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    badging = _run(["aapt", "dump", "badging", str(tmp_path / "res.apk")]).stdout
    assert f"package: name='{namespace}'" in badging
    assert "uses-permission: name='android.permission.CAMERA'" in badging
