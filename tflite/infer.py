"""`mininet-infer` from a clone without installing anything: ``python tflite/infer.py --help``.

The command lives in `mininet_lite.infer` (installed as the ``mininet-infer`` console script by
``pip install ./tflite``); this file only puts the clone's ``mininet_lite`` on the path.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mininet_lite.infer import main  # noqa: E402  (after the path set-up)

if __name__ == "__main__":
    sys.exit(main())
