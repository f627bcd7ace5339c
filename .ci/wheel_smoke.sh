#!/usr/bin/env bash
# A non-editable install works: build the mininet-lite and mininet-tf wheels, install them into
# a temporary venv and run infer, predict, export and serve_web from outside the clone.
# The venv sees the already-installed dependencies (--system-site-packages: no second 2.8 GB
# TensorFlow), but both packages come from the wheels; the first check makes sure of that.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -rf "$repo/tflite/build" "$repo/tflite/mininet_lite.egg-info" "$repo/build"' EXIT
say() { echo "wheel_smoke: $*"; }

python -m pip wheel -q --no-deps "$repo/tflite" "$repo" -w "$work/wheels"
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps --force-reinstall "$work"/wheels/*.whl
bin="$work/venv/bin"
cd "$work"

"$bin/python" - "$work/venv" <<'PY'
import sys
from pathlib import Path
import mininet_lite, mininet_tf
venv = Path(sys.argv[1])
for module in (mininet_lite, mininet_tf):
    where = Path(module.__file__)
    assert where.is_relative_to(venv), f"{module.__name__} imported from {where}, not the wheel"
PY
say "both packages import from the wheels"

"$bin/python" -c "from PIL import Image; Image.new('RGB', (200, 150), (180, 120, 100)).save('photo.png')"
"$bin/mininet-infer" --model isic2017 photo.png --out infer_out >/dev/null
test -f infer_out/photo_mask.png
say "mininet-infer --model isic2017: ok"
keras_model="$("$bin/python" -c 'import mininet_tf; print(mininet_tf.zoo.pretrained_path("isic2017"))')"
"$bin/mininet-predict" --model "$keras_model" photo.png --out predict_out >/dev/null
test -f predict_out/photo_mask.png
say "mininet-predict with the packaged .keras: ok"
"$bin/mininet-export" --model "$keras_model" --mode float16 --out exported.tflite >/dev/null
test -s exported.tflite && test -f exported.json
say "mininet-export --mode float16: ok"
status=0
"$bin/python" -m mininet_tf.serve_web --port 0 2>serve.err || status=$?
test "$status" = 2 && grep -q "run .python -m mininet_tf.serve_web. from a clone" serve.err
say "serve_web outside a clone: says it needs one (exit 2)"
