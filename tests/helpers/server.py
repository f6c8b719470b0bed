"""THE loopback HTTP server of the tests: files by URL path from memory, or from a folder.

Runs on 127.0.0.1 at a free port in a thread; nothing leaves the machine. It answers GET with
the whole body (no ranges), 404 for anything else, and records the paths asked for.
"""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path
from typing import Dict, List, Optional


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.body(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _HTTPServer(http.server.ThreadingHTTPServer):
    files: Dict[str, bytes]
    requests: List[str]
    root: Optional[Path]

    def body(self, url_path: str) -> Optional[bytes]:
        if url_path in self.files:
            return self.files[url_path]
        if self.root is None:
            return None
        path = (self.root / url_path.lstrip("/")).resolve()
        inside = path == self.root or self.root in path.parents
        return path.read_bytes() if inside and path.is_file() else None


class Server:
    """A 127.0.0.1 HTTP server on a free port serving ``files`` (URL path -> bytes) and, when
    given, the files under ``root``, from a thread. Use :meth:`stop` (or the ``server`` fixture)."""

    def __init__(self, root: Optional[Path] = None):
        self.httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files, self.httpd.requests = {}, []
        self.httpd.root = None if root is None else Path(root).resolve()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, body: bytes) -> str:
        """Serve ``body`` at URL path ``path`` ("/w.pth"); returns its URL."""
        self.httpd.files[path] = body
        return self.base + path

    @property
    def requests(self) -> List[str]:
        return self.httpd.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def closed_port_url(name: str) -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
