"""Test data for the API, weights and CLI-edge tests: a tiny synthetic video, its boxes, seeded weights,
a model config whose published weights live on a loopback HTTP server."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import threading
from pathlib import Path

import numpy as np

W, H, N = 160, 120, 8          # frame size and frame count of the synthetic video


def figure_boxes() -> np.ndarray:
    """(N, 2, 4) boxes: one 32x64 figure walking right, one standing still."""
    return np.array([[[16 + 5 * t, 24 + t, 48 + 5 * t, 88 + t], [112, 30, 144, 94]] for t in range(N)], np.float32)


def make_video(folder: Path) -> dict:
    """``video.mp4`` (10 fps), ``frames/`` (PNG), ``dets.json`` (COCO boxes) and ``pose.pth`` (tiny HRNet)."""
    import cv2
    import torch

    from posetrack.models.registry import build_pose_model

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frames").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    sprites = [rng.integers(0, 255, (64, 32, 3), dtype=np.uint8) for _ in range(2)]
    writer = cv2.VideoWriter(str(folder / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    for t, frame_boxes in enumerate(figure_boxes()):
        img = np.full((H, W, 3), 90, np.uint8)
        for sprite, (x1, y1, _, _) in zip(sprites, frame_boxes):
            img[int(y1):int(y1) + 64, int(x1):int(x1) + 32] = sprite
        writer.write(img)
        cv2.imwrite(str(folder / "frames" / f"{t:03d}.png"), img)
    writer.release()
    dets = [{"image_id": t, "bbox": [float(b[0]), float(b[1]), 32.0, 64.0], "score": 0.95, "category_id": 1}
            for t, fb in enumerate(figure_boxes()) for b in fb]
    (folder / "dets.json").write_text(json.dumps(dets))
    torch.manual_seed(0)
    state = build_pose_model("hrnet_tiny_128x96").state_dict()
    state["final_layer.bias"] += 1.0   # heatmap maxima near 1, like a trained net's, so joints pass the tracker
    torch.save(state, folder / "pose.pth")
    return {"video": folder / "video.mp4", "frames": folder / "frames", "boxes": folder / "dets.json",
            "weights": folder / "pose.pth"}


def tiny_options(data: dict) -> dict:
    """RunOptions for the tiny model, test-made weights and the boxes file, on the CPU."""
    return {"pose_model": "hrnet_tiny_128x96", "pose_weights": str(data["weights"]),
            "boxes_file": str(data["boxes"]), "device": "cpu"}


def checkpoint_bytes() -> bytes:
    """The tiny HRNet's seeded weights as a .pth file's bytes."""
    import torch

    from posetrack.models.registry import build_pose_model

    torch.manual_seed(1)
    buf = io.BytesIO()
    torch.save(build_pose_model("hrnet_tiny_128x96").state_dict(), buf)
    return buf.getvalue()


def model_config(folder: Path, url: str, sha256: str) -> Path:
    """A copy of the tiny model config whose default ``coco`` weights are published at ``url``."""
    from posetrack.config import config_path

    text = config_path("hrnet_tiny_128x96").read_text().replace("name: hrnet_tiny_128x96", "name: tiny_published")
    text += f"default_weights: coco\nweights:\n  coco:\n    url: {url}\n    sha256: \"{sha256}\"\n    keypoints: coco\n"
    path = folder / "tiny_published.yaml"
    path.write_text(text)
    return path


def closed_port_url(name: str) -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server:
    """A 127.0.0.1 HTTP server on a free port serving ``files`` (URL path -> bytes) from a thread."""

    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files = {}
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, body: bytes) -> str:
        self.httpd.files[path] = body
        return self.base + path

    @property
    def requests(self):
        return self.httpd.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
