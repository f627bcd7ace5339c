#!/usr/bin/env bash
# Installs the tools the optional test groups need; .ci/run calls it before the test command.
# Best effort: a tool that cannot be installed (no root, no network, no apt/npm) is reported
# here and its tests skip, saying why. Nothing under tests/ installs anything.
#
#   tests/test_web_demo.py : Debian chromium; web_demo/node_modules (npm ci: @litertjs/core,
#                            playwright-core, as locked in web_demo/package-lock.json)
#   tests/test_android.py  : Debian junit4 (+ hamcrest), aapt, android-framework-res, a JDK
#                            (java); npm kotlin-compiler at the Kotlin version of
#                            android_demo/gradle/libs.versions.toml, in the user cache
#   tests/test_lite_package.py : a venv without TensorFlow holding `pip install ./tflite`
#                                (mininet-lite, deps pinned by requirements.txt), in the user cache
#   tests/test_mediapipe.py: a Python venv with mediapipe==1.2.2 and its dependencies at the
#                            exact versions of .ci/mediapipe_requirements.txt, in
#                            ${MININET_MEDIAPIPE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mininet_mediapipe/venv}
#                            (its own venv: mediapipe's opencv-contrib-python would replace ours)
set -uo pipefail
cd "$(dirname "$0")/.."

note() { echo "install_test_tools: $*" >&2; }

# --- Debian packages (root only) ---
apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
[ -f /usr/share/java/junit4.jar ] || apt_packages+=(junit4)
command -v aapt >/dev/null || apt_packages+=(aapt)
[ -f /usr/share/android-framework-res/framework-res.apk ] || apt_packages+=(android-framework-res)
command -v java >/dev/null || apt_packages+=(default-jre-headless)
if [ ${#apt_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt_get=(apt-get -o DPkg::Lock::Timeout=300 -q)
        "${apt_get[@]}" update >/dev/null \
            && "${apt_get[@]}" install -y --no-install-recommends "${apt_packages[@]}" >/dev/null \
            || note "apt-get install ${apt_packages[*]} failed: their tests will skip"
    else
        note "not root or no apt-get: ${apt_packages[*]} not installed, their tests will skip"
    fi
fi

# --- npm packages ---
if command -v npm >/dev/null; then
    (cd web_demo && npm ci --no-audit --no-fund >/dev/null) \
        || note "npm ci in web_demo/ failed: the browser tests will skip"
    kotlin=$(sed -n 's/^kotlin *= *"\([^"]*\)".*/\1/p' android_demo/gradle/libs.versions.toml)
    cache="${MININET_ANDROID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mininet_android}"
    prefix="$cache/kotlin-$kotlin"
    if [ ! -x "$prefix/node_modules/kotlin-compiler/bin/kotlinc" ]; then
        mkdir -p "$prefix"
        npm install --no-audit --no-fund --prefix "$prefix" "kotlin-compiler@$kotlin" >/dev/null \
            || note "npm install kotlin-compiler@$kotlin failed: the Kotlin tests will skip"
    fi
else
    note "npm not found: the browser and Kotlin tests will skip"
fi
# --- mininet-lite, installed (not editable) into its own venv without TensorFlow ---
lite_venv="${MININET_LITE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mininet_lite/venv}"
python -m venv --clear "$lite_venv" \
    && "$lite_venv/bin/python" -m pip install -q -c requirements.txt ./tflite \
    || note "could not install ./tflite into $lite_venv: tests/test_lite_package.py will skip"
rm -rf tflite/build tflite/mininet_lite.egg-info  # setuptools' leftovers in the clone

# --- MediaPipe (its own venv; pip's cache is reused) ---
mp_venv="${MININET_MEDIAPIPE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mininet_mediapipe/venv}"
mp_stamp="$mp_venv/.mininet_requirements"
if ! cmp -s .ci/mediapipe_requirements.txt "$mp_stamp"; then
    rm -rf "$mp_venv"
    { python -m venv "$mp_venv" \
        && "$mp_venv/bin/python" -m pip install -q -r .ci/mediapipe_requirements.txt \
        && "$mp_venv/bin/python" -c "import mediapipe.tasks.python.vision" \
        && cp .ci/mediapipe_requirements.txt "$mp_stamp"; } >/dev/null \
        || { rm -rf "$mp_venv"; note "mediapipe venv not created: tests/test_mediapipe.py will skip"; }
fi
exit 0
