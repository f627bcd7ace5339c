"""Serve the browser demo (`web_demo/`) and the exported models on 127.0.0.1, read-only.

    python -m mininet_tf.serve_web [--port 8000] [--models-dir tflite/models]

The page does all the work in the browser (LiteRT.js); this server only hands out static files:

- ``/``                      -> ``web_demo/index.html`` (and the other files of ``web_demo/``)
- ``/models/<file>``         -> ``--models-dir`` (default ``tflite/models``): `.tflite` + `.json`
- ``/node_modules/@litertjs/...`` -> LiteRT.js and its WASM, after ``npm ci`` in ``web_demo/``

Every file is sent with ``Cross-Origin-Opener-Policy: same-origin`` and
``Cross-Origin-Embedder-Policy: require-corp``, so the page is cross-origin isolated and can run
LiteRT.js' multi-threaded WebAssembly build. Only GET and HEAD; nothing is ever written. Paths are resolved and must stay inside their root
(no ``..``, no dot-files, no symlinks leading out); other ``node_modules`` packages, the test
scripts and the test artifacts are not served. ``--port 0`` picks a free port; the first line
printed is ``serving http://127.0.0.1:PORT/`` so a caller can read the port.
"""

from __future__ import annotations

import argparse
import posixpath
import sys
import urllib.parse
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mininet_lite.zoo import models_dir

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT / "web_demo"
# The shipped models: mininet-lite's package data, or tflite/models/ in a clone.
MODELS_DIR = models_dir() or ROOT / "tflite" / "models"
HOST = "127.0.0.1"

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".tflite": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

#: Sent with every file: the page is cross-origin isolated (`crossOriginIsolated` is true).
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}

#: Top-level entries of web_demo/ that are never served (tooling, tests, outputs).
HIDDEN_WEB_ENTRIES = {"tests", "test-artifacts", "package.json", "package-lock.json"}
#: The only part of web_demo/node_modules that is served: the runtime the page imports.
SERVED_NODE_MODULES = ("@litertjs",)


def resolve_request(url_path: str, web_dir: Path, models_dir: Path) -> Path | None:
    """The file a URL path maps to, or None when it is outside what is served.

    Decodes percent-escapes once, rejects any ``..``/``.``-prefixed segment, backslashes and NUL,
    then checks that the resolved file (symlinks followed) stays under its root.
    """
    path = urllib.parse.unquote(urllib.parse.urlsplit(url_path).path)
    if "\\" in path or "\x00" in path or not path.startswith("/"):
        return None
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") for p in parts):
        return None
    if posixpath.normpath(path) != path.rstrip("/") and path != "/":
        return None
    if not parts:
        root, rel = web_dir, ["index.html"]
    elif parts[0] == "models":
        root, rel = models_dir, parts[1:]
        if len(rel) != 1:  # flat folder of model files only
            return None
    else:
        root, rel = web_dir, parts
        if rel[0] in HIDDEN_WEB_ENTRIES:
            return None
        if rel[0] == "node_modules" and (len(rel) < 2 or rel[1] not in SERVED_NODE_MODULES):
            return None
    root = root.resolve()
    target = root.joinpath(*rel)
    if target.is_dir():
        target = target / "index.html"
    try:
        resolved = target.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


class DemoHandler(SimpleHTTPRequestHandler):
    """Static, read-only handler for web_demo/ and the models folder."""

    server_version = "mininet-serve-web"
    sys_version = ""

    def __init__(self, *args, web_dir: Path, models_dir: Path, quiet: bool, **kwargs):
        self.web_dir = web_dir
        self.models_dir = models_dir
        self.quiet = quiet
        super().__init__(*args, directory=str(web_dir), **kwargs)

    def send_head(self):
        target = resolve_request(self.path, self.web_dir, self.models_dir)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return None
        ctype = MIME_TYPES.get(target.suffix.lower(), "application/octet-stream")
        try:
            handle = open(target, "rb")  # noqa: SIM115  (closed by copyfile's caller)
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return None
        size = target.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        # Cross-origin isolation: lets the page use SharedArrayBuffer, hence LiteRT.js'
        # multi-threaded WebAssembly build (issue 17). Everything the page loads is same-origin,
        # so require-corp blocks nothing; CORP marks these files as same-origin only.
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        return handle

    def _refuse(self):
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only server")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815  (http.server API)

    def log_message(self, format, *args):  # noqa: A002  (http.server API)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(port: int = 8000, web_dir=WEB_DIR, models_dir=MODELS_DIR, quiet=False):
    """A `ThreadingHTTPServer` on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    handler = partial(
        DemoHandler, web_dir=Path(web_dir).resolve(), models_dir=Path(models_dir), quiet=quiet
    )
    return ThreadingHTTPServer((HOST, int(port)), handler)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mininet_tf.serve_web", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--models-dir", default=str(MODELS_DIR), help="folder of .tflite+.json")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)
    if not (WEB_DIR / "index.html").is_file():
        # A wheel install has the Python package only; the page lives in the repository.
        print(
            f"error: the browser demo (web_demo/) is not installed with the package (looked in "
            f"{WEB_DIR}); run `python -m mininet_tf.serve_web` from a clone of mininet-tf",
            file=sys.stderr,
        )
        return 2
    if not (WEB_DIR / "node_modules" / "@litertjs" / "core").is_dir():
        print(
            "warning: web_demo/node_modules/@litertjs/core missing; run `npm ci` in web_demo/",
            file=sys.stderr,
        )
    server = make_server(args.port, WEB_DIR, args.models_dir, quiet=args.quiet)
    print(f"serving http://{HOST}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
