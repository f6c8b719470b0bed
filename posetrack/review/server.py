"""The review page's local web server (standard library ``http.server``; nothing fetched from the internet).

What it guards against: another user of the machine, and any web page open in the same browser.

* It binds ``127.0.0.1`` only, on a free port (or the one asked for).
* Every request needs the session's token (random, 192 bits), compared in constant time
  (:func:`hmac.compare_digest`): in the URL (``?token=``) for the page, its files and frames,
  in the ``X-Posetrack-Token`` header for the page's API calls.
* It serves the page's own files (a fixed list shipped in the package), the frames of the one
  video and the people of the one tracks file it was started with; no request names a path.
* Writes (``POST``) must come from the page itself: a JSON body (``Content-Type:
  application/json``) and the custom token header, neither of which a cross-origin page may send
  without a CORS preflight (which is refused); an ``Origin`` other than the server's own is refused;
  the ``Host`` header must be the server's own address (no DNS rebinding).
* Responses forbid caching, framing and sniffing, and allow scripts from the page's origin only.

Example:
    >>> server = ReviewServer(session, frames)          # binds now
    >>> print(server.url)                               # http://127.0.0.1:PORT/?token=...
    >>> server.serve_forever()                          # until shutdown() or Ctrl-C
"""
from __future__ import annotations

import hmac
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from posetrack import validation
from posetrack.errors import PosetrackError
from posetrack.review.frames import JpegFrames
from posetrack.review.session import ReviewSession, parse_operations

__all__ = ["ReviewServer", "TOKEN_HEADER"]

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Posetrack-Token"
MAX_BODY = 64 << 20          # bytes of a POST body (a list of edits is a few KB)
_CHUNK_FRAMES = 2000         # most frames of people per /api/people request

# The page's files: name -> content type. Nothing else is ever read from disk by a request.
STATIC = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


def _static(name: str) -> bytes:
    return resources.files("posetrack.review").joinpath("static", name).read_bytes()


class ReviewServer(ThreadingHTTPServer):
    """A local server for one review: binds at once; ``serve_forever()`` serves until ``shutdown()``.

    Args:
        session: the tracks file under review.
        frames: the video's frames.
        port: 0 for a free port.
        token: the session token (default: 32 random URL-safe characters).
    """

    daemon_threads = True

    def __init__(self, session: ReviewSession, frames: JpegFrames, port: int = 0, token: Optional[str] = None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.session = session
        self.frames = frames
        self.token = token or secrets.token_urlsafe(24)
        self.port = self.server_address[1]
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.save_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def token_ok(self, given: Optional[str]) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode())


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:      # requests go to the debug log, not stderr
        log.debug("review: " + fmt, *args)

    # ------------------------------------------------------------ replies

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, validation.encode_json(obj))

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True        # an unread request body must not be taken for the next request
        self._json(status, {"error": message})

    # ------------------------------------------------------------ checks

    def _query(self) -> Tuple[str, Dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def _allowed(self, query: Dict[str, str], write: bool) -> bool:
        """Host, token (header for writes; header or URL otherwise) and, for writes, origin and content type."""
        if self.headers.get("Host", "") not in self.server.hosts:
            self._refuse(HTTPStatus.FORBIDDEN, "wrong Host header")
            return False
        token = self.headers.get(TOKEN_HEADER) if write else (self.headers.get(TOKEN_HEADER) or query.get("token"))
        if not self.server.token_ok(token):
            self._refuse(HTTPStatus.FORBIDDEN, "missing or wrong session token")
            return False
        if not write:
            return True
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            self._refuse(HTTPStatus.FORBIDDEN, "cross-origin write refused")
            return False
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "writes take application/json")
            return False
        return True

    def _body(self) -> Optional[Any]:
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        if not 0 <= size <= MAX_BODY:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            return None
        try:
            import msgspec

            return msgspec.json.decode(self.rfile.read(size))
        except msgspec.DecodeError as e:
            self._refuse(HTTPStatus.BAD_REQUEST, f"not JSON: {e}")
            return None

    # ------------------------------------------------------------ routes

    def do_GET(self) -> None:
        path, query = self._query()
        if not self._allowed(query, write=False):
            return
        if path == "/":
            page = _static("index.html").replace(b"__TOKEN__", self.server.token.encode())
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        elif path.startswith("/static/") and path[len("/static/"):] in STATIC:
            name = path[len("/static/"):]
            self._send(HTTPStatus.OK, _static(name), STATIC[name])
        elif path == "/api/meta":
            self._json(HTTPStatus.OK, self.server.session.meta())
        elif path == "/api/people":
            self._people(query)
        elif path == "/api/frame":
            self._frame(query)
        else:
            self._refuse(HTTPStatus.NOT_FOUND, "no such page")

    do_HEAD = do_GET

    def _people(self, query: Dict[str, str]) -> None:
        try:
            start, end = int(query.get("start", "0")), int(query.get("end", "0"))
        except ValueError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "start and end are frame positions")
        self._json(HTTPStatus.OK, self.server.session.people(start, min(end, start + _CHUNK_FRAMES)))

    def _frame(self, query: Dict[str, str]) -> None:
        try:
            index = int(query.get("i", ""))
        except ValueError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "i is a frame index")
        try:
            data = self.server.frames.jpeg(index)
        except (PosetrackError, OSError) as e:
            return self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, str(e))
        if data is None:
            return self._refuse(HTTPStatus.NOT_FOUND, f"the video has no frame {index}")
        self._send(HTTPStatus.OK, data, "image/jpeg")

    def do_POST(self) -> None:
        path, query = self._query()
        if not self._allowed(query, write=True):
            return
        if path not in ("/api/view", "/api/save"):
            return self._refuse(HTTPStatus.NOT_FOUND, "no such page")
        body = self._body()
        if body is None:
            return
        try:
            ops = parse_operations(body.get("edits") if isinstance(body, dict) else None)
            if path == "/api/view":
                return self._json(HTTPStatus.OK, self.server.session.view(ops))
            with self.server.save_lock:
                result = self.server.session.save(ops)
            log.info("saved %d edit(s) to %s", result["edits"], result["saved"])
            self._json(HTTPStatus.OK, result)
        except (PosetrackError, OSError) as e:
            self._refuse(HTTPStatus.CONFLICT, str(e))

    def do_OPTIONS(self) -> None:          # no CORS: a cross-origin preflight gets no permission
        self._refuse(HTTPStatus.FORBIDDEN, "cross-origin requests refused")

    def do_PUT(self) -> None:
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "not allowed")

    do_DELETE = do_PATCH = do_PUT
