"""The review page's server (posetrack.review): what it serves, what it refuses, what Save writes; the hints."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from posetrack.errors import FormatError
from posetrack.review.frames import JpegFrames
from posetrack.review.hints import HintSettings, find_hints
from posetrack.review.session import ReviewSession, read_cuts
from posetrack.tracksfile import edit
from posetrack.tracksfile.codec import read_tracks, write_tracks
from posetrack_cli import cli
from helpers.review_data import COLORS, crossing, crossing_video, frame_result, positions, review_server, tracks_of
from helpers.videos import write_frames

N, SWAP_AT = 24, 14
EPOCH = "1735787045"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return crossing_video(tmp_path_factory.mktemp("video"), n=N)


@pytest.fixture
def served(tmp_path, clip, monkeypatch):
    """A running server on the crossing clip; yields (server, tracks path)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    path = tmp_path / "tracks.json"
    write_tracks(path, crossing(N, SWAP_AT))
    with review_server(clip, path) as server:
        yield server, path


def request(server, method, path, body=None, headers=None, token=True, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sep = "&" if "?" in path else "?"
    url = path + (f"{sep}token={server.token}" if token is True else "")
    hdrs = dict(headers or {})
    if host is not None:
        conn.putrequest(method, url, skip_host=True)
        conn.putheader("Host", host)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body.encode() if body else None)
    else:
        conn.request(method, url, body=body, headers=hdrs)
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, reply.getheader("Content-Type"), data


def post(server, path, edits, **headers):
    hdrs = {"X-Posetrack-Token": server.token, "Content-Type": "application/json", **headers}
    status, _, data = request(server, "POST", path, json.dumps({"edits": edits}), hdrs, token=False)
    return status, json.loads(data)


# ---------------------------------------------------------------- what it serves


def test_page_files_and_frames_need_the_token(served):
    server, _ = served
    status, ctype, page = request(server, "GET", "/")
    assert status == 200 and ctype.startswith("text/html")
    assert f"/static/review.js?token={server.token}".encode() in page
    assert request(server, "GET", "/static/review.js")[0] == 200
    wrong = server.token[:-1] + ("y" if server.token.endswith("x") else "x")    # one in 64 tokens ends in x
    for path in ("/", "/static/review.js", "/api/meta", "/api/frame?i=0"):
        assert request(server, "GET", path, token=False)[0] == 403
        assert request(server, "GET", path + ("&" if "?" in path else "?") + "token=" + wrong, token=False)[0] == 403
    assert server.url.startswith("http://127.0.0.1:") and server.server_address[0] == "127.0.0.1"


def test_only_its_own_files_are_served(served):
    server, _ = served
    for path in ("/static/../session.py", "/static/review.py", "/static/%2e%2e/server.py", "/etc/passwd",
                 "/api/frame?i=-1", f"/api/frame?i={N}", "/api/frame?i=x"):
        assert request(server, "GET", path)[0] in (400, 404), path


def test_frames_are_jpegs_of_the_video(served):
    import cv2

    server, _ = served
    status, ctype, data = request(server, "GET", "/api/frame?i=5")
    assert status == 200 and ctype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    for name, (x1, y1, x2, y2) in positions(5, N).items():
        centre = image[int((y1 + y2) / 2), int((x1 + x2) / 2)].astype(int)
        assert np.abs(centre - COLORS[name]).max() < 40, name
    back = request(server, "GET", "/api/frame?i=2")[2]              # backwards: the source is reopened
    assert back != data and request(server, "GET", "/api/frame?i=5")[2] == data


def test_frames_of_an_image_folder(tmp_path):
    """Any source `run` reads from disk: here a folder of PNGs (frames come back in order, as JPEGs)."""
    import cv2

    write_frames(tmp_path, [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)], name="frame{}.png".format)
    frames = JpegFrames(tmp_path)
    try:
        for i in (3, 1, 4):
            image = cv2.imdecode(np.frombuffer(frames.jpeg(i), np.uint8), cv2.IMREAD_GRAYSCALE)
            assert image.shape == (48, 64) and abs(int(image.mean()) - 40 * i) <= 2
        assert frames.jpeg(5) is None
    finally:
        frames.close()
    with pytest.raises(Exception, match="camera or stream"):
        JpegFrames("rtsp://127.0.0.1:9/stream")


def test_meta_and_people(served):
    server, _ = served
    meta = json.loads(request(server, "GET", "/api/meta")[2])
    assert meta["frames"] == list(range(N)) and meta["counts"] == [2] * N and meta["warnings"] == []
    assert meta["video"]["width"] == 320 and len(meta["skeleton"]) == 19 and meta["cuts"] == []
    people = json.loads(request(server, "GET", "/api/people?start=3&end=5")[2])
    assert len(people) == 2 and people[0][0]["b"] == [round(v, 2) for v in positions(3, N)["P"]]
    assert len(people[0][0]["k"]) == 17 * 3


# ---------------------------------------------------------------- what it refuses


def test_writes_refused_across_origins_and_without_the_header(served):
    server, path = served
    before = path.read_bytes()
    swap = [{"verb": "swap", "a": 0, "b": 1, "from": SWAP_AT}]
    assert post(server, "/api/save", swap, Origin="http://evil.example")[0] == 403
    assert post(server, "/api/save", swap, Origin="null")[0] == 403
    body = json.dumps({"edits": swap})
    assert request(server, "POST", "/api/save", body, {"Content-Type": "application/json"})[0] == 403  # token in URL only
    assert request(server, "POST", "/api/save", body, {"X-Posetrack-Token": server.token,
                                                       "Content-Type": "text/plain"}, token=False)[0] == 415
    assert request(server, "OPTIONS", "/api/save")[0] == 403
    assert request(server, "GET", "/", host="evil.example:80")[0] == 403                   # DNS rebinding
    assert request(server, "GET", "/", host=f"localhost:{server.port}")[0] == 200
    assert path.read_bytes() == before


# ---------------------------------------------------------------- edits and saving


def test_view_applies_edits_and_reports_refusals(served):
    server, _ = served
    status, view = post(server, "/api/view", [{"verb": "swap", "a": 0, "b": 1, "from": SWAP_AT}])
    assert status == 200
    assert view["ids"][:2] == [0, 1] and view["ids"][2 * SWAP_AT:2 * SWAP_AT + 2] == [0, 1]
    assert [lane["id"] for lane in view["lanes"]] == [0, 1] and view["lanes"][0]["runs"] == [[0, N - 1, False]]
    assert view["described"] == [f"swap 0 1 --from {SWAP_AT}"]
    assert not [h for h in view["hints"] if h["kind"] == "swap"]       # the planted switch is gone
    status, error = post(server, "/api/view", [{"verb": "merge", "a": 0, "b": 1}])
    assert status == 409 and "0 and 1 both have a pose in frames 0-23" in error["error"]
    status, view = post(server, "/api/view", [{"verb": "delete", "a": 1, "frames": [0, 3]}])
    assert view["ids"][:6] == [0, None, 0, None, 0, None]
    assert post(server, "/api/view", [{"verb": "swap", "a": 0}])[0] == 409


def test_save_writes_what_posetrack_edit_writes(served, tmp_path):
    server, path = served
    original = path.read_bytes()
    status, result = post(server, "/api/save", [{"verb": "swap", "a": 0, "b": 1, "from": SWAP_AT}])
    assert status == 200 and result == {"saved": str(path), "edits": 1}
    (tmp_path / "orig.json").write_bytes(original)
    r = CliRunner().invoke(cli, ["edit", str(tmp_path / "orig.json"), "-o", str(tmp_path / "cli.json"), "swap", "0",
                                 "1", "--from", str(SWAP_AT)], env={"SOURCE_DATE_EPOCH": EPOCH})
    assert r.exit_code == 0, r.output
    assert path.read_bytes() == (tmp_path / "cli.json").read_bytes()
    assert not list(tmp_path.glob("*.tmp"))
    # saving again with one more edit keeps the first record's time
    os.environ["SOURCE_DATE_EPOCH"] = str(int(EPOCH) + 60)
    post(server, "/api/save", [{"verb": "swap", "a": 0, "b": 1, "from": SWAP_AT}, {"verb": "relabel", "a": 1, "new": 7}])
    records = json.loads(path.read_text())["settings"]["edits"]
    assert [r["time"] for r in records] == ["2025-01-02T03:04:05Z", "2025-01-02T03:05:05Z"]
    assert edit.undo(read_tracks(path), 2).frames[SWAP_AT].track_ids.tolist() == [1, 0]


def test_save_refuses_a_file_changed_by_another_program(served):
    server, path = served
    time.sleep(0.01)
    write_tracks(path, edit.relabel(read_tracks(path), 1, 9))
    changed = path.read_bytes()
    status, error = post(server, "/api/save", [])
    assert status == 409 and "changed on disk since the review read it" in error["error"]
    assert path.read_bytes() == changed


def test_out_leaves_the_input_untouched(tmp_path, clip, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    path, out = tmp_path / "t.json", tmp_path / "fixed.json"
    write_tracks(path, crossing(N, SWAP_AT))
    before = path.read_bytes()
    session = ReviewSession(path, out)
    session.save([edit.Swap(0, 1, SWAP_AT)])
    assert path.read_bytes() == before
    assert read_tracks(out).frames[-1].track_ids.tolist() == [0, 1]
    assert session.unsaved() == []
    session.view([edit.Delete(1)])
    assert session.unsaved() == [edit.Delete(1)]


# ---------------------------------------------------------------- hints and cuts


def test_hints_find_planted_mistakes():
    hints = {h.kind: h for h in find_hints(crossing(N, SWAP_AT))}
    assert hints["swap"].frame == SWAP_AT and hints["swap"].suggestion == edit.Swap(0, 1, SWAP_AT)
    frames = []                              # one walker: id 3 until 10, then (after 3 lost frames) id 4 nearby
    for i in range(24):
        x = 10 + 8 * i
        tid = 3 if i < 10 else 4
        box = (x, 50, x + 40, 140) if i != 18 else (x, 50, x + 120, 230)     # frame 18: an oversized box
        if not 10 <= i < 13:
            frames.append(frame_result(i, [(tid, box)]))
    frames.append(frame_result(24, [(5, (300, 10, 310, 30))]))                   # a one-pose track
    found = {(h.kind, h.frame): h.suggestion for h in find_hints(tracks_of(frames, 25), HintSettings(short_seconds=0.2))}
    assert found[("break", 13)] == edit.Merge(3, 4)
    assert found[("jump", 18)] == edit.Delete(4, (18, 19))
    assert found[("short", 24)] == edit.Delete(5)
    assert len(found) == 3


def test_takeover_of_a_lost_track_is_a_swap_hint():
    """Two walkers side by side; 7 is lost at frame 8 and 3 steps onto 7's place there (3's own person is gone)."""
    frames = []
    for i in range(16):
        here = [(3, (10 + 6 * i, 20, 50 + 6 * i, 110))] if i < 8 else [(3, (10 + 6 * i, 60, 50 + 6 * i, 150))]
        if i < 8:
            here.append((7, (10 + 6 * i, 60, 50 + 6 * i, 150)))
        frames.append(frame_result(i, here))
    swaps = [h for h in find_hints(tracks_of(frames, 16)) if h.kind == "swap"]
    assert [(h.frame, h.suggestion) for h in swaps] == [(8, edit.Swap(3, 7, 8))]


def test_swap_hints_match_a_naive_loop():
    """The vectorised pair search against every pair of every frame, on random walks with random id exchanges."""
    from posetrack.review import hints as H

    rng = np.random.default_rng(0)
    frames, pos = [], rng.uniform(50, 250, (6, 2))
    ids = np.arange(6)
    for i in range(40):
        pos += rng.normal(0, 6, pos.shape)
        if rng.random() < 0.2:
            a, b = rng.choice(6, 2, replace=False)
            ids[[a, b]] = ids[[b, a]]
        here = [k for k in range(6) if rng.random() < 0.9]
        frames.append(frame_result(i, [(int(ids[k]), (*pos[k], *(pos[k] + [30, 80]))) for k in here]))
    t = H._Tracks.of(tracks_of(frames, 40))
    s = HintSettings()
    steps = set(H._steps(t, 25.0, s).tolist())

    def dist(a, b):
        return float(np.hypot(*(t.centre[a] - t.centre[b])))

    naive = set()
    for p in steps:
        for q in steps:
            if p >= q or t.frame[p] != t.frame[q]:
                continue
            h = (t.height[p] + t.height[q] + t.height[p - 1] + t.height[q - 1]) / 4
            own = (dist(p, p - 1) + dist(q, q - 1)) / h
            crossed = (dist(p, q - 1) + dist(q, p - 1)) / h
            if own > s.swap_heights and crossed < s.swap_ratio * own:
                naive.add((int(t.frame[p]), *sorted((int(t.ids[p]), int(t.ids[q])))))
    fast = {(h.frame, *sorted(h.ids)) for h in H._swaps(t, 25.0, s)}
    assert naive and fast <= naive
    assert {(f, a, b) for f, a, b in naive if (f - 1, a, b) not in naive} == fast


def test_cuts_are_read_where_present(tmp_path, caplog):
    path = tmp_path / "t.json"
    t = crossing(6, 3)
    write_tracks(path, t)
    assert read_cuts(path, t) == []
    doc = json.loads(path.read_text())
    doc["settings"]["cuts"] = [4, 2]
    path.write_text(json.dumps(doc))
    assert read_cuts(path, read_tracks(path)) == [2, 4]
    with_settings = t.__class__(t.header.__class__(t.header.video, t.header.layout, {"cuts": [1]}), t.frames)
    assert read_cuts(path, with_settings) == [1]
    doc["settings"]["cuts"] = ["x"]
    path.write_text(json.dumps(doc))
    assert read_cuts(path, read_tracks(path)) == [] and "cuts: Expected `int`" in caplog.text
    doc["cuts"] = [4, 2]     # settings is the free-form part; the top level is strict (issue 17)
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="top level: unknown key 'cuts'"):
        read_tracks(path)


# ---------------------------------------------------------------- the command


def test_review_command_serves_until_ctrl_c(tmp_path, clip):
    """`posetrack review --no-browser` prints a URL that serves the page; Ctrl-C stops it with exit 0."""
    path = tmp_path / "t.json"
    write_tracks(path, crossing(N, SWAP_AT))
    proc = subprocess.Popen([sys.executable, "-m", "posetrack_cli", "review", str(clip), str(path), "--no-browser"],
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stderr:
            if "review page:" in line:
                url = line.split("review page:")[1].strip()
                break
        assert url and url.startswith("http://127.0.0.1:")
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/view", json.dumps({"edits": [{"verb": "merge", "a": 0, "b": 1}]}),
                     {"X-Posetrack-Token": token, "Content-Type": "application/json"})
        assert conn.getresponse().status == 409
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/view", json.dumps({"edits": [{"verb": "delete", "a": 1}]}),
                     {"X-Posetrack-Token": token, "Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert "1 unsaved edit(s)" in rest and f"posetrack edit {path} -o FIXED.json delete 1" in rest


def test_review_help_and_bad_inputs(tmp_path, clip):
    r = CliRunner().invoke(cli, ["review", "-h"], terminal_width=100)
    assert r.exit_code == 0 and "ssh -N -L 8765:127.0.0.1:8765" in r.output and "--no-browser" in r.output
    path = tmp_path / "t.json"
    write_tracks(path, crossing(N, SWAP_AT))
    (tmp_path / "exists.json").write_text("x")
    r = CliRunner().invoke(cli, ["review", str(clip), str(path), "--out", str(tmp_path / "exists.json")])
    assert r.exit_code == 1 and "exists" in r.output
    r = CliRunner().invoke(cli, ["review", str(clip), str(path), "--out", str(clip)])
    assert r.exit_code == 1


def test_review_errors_name_its_flags(tmp_path, clip):
    """The library names the settings at fault (``err.fields``); the CLI shows them as review's flags and arguments."""
    path = tmp_path / "t.json"
    write_tracks(path, crossing(N, SWAP_AT))
    (tmp_path / "exists.json").write_text("x")
    r = CliRunner().invoke(cli, ["review", str(clip), str(path), "--out", str(tmp_path / "exists.json")])
    assert r.exit_code == 1 and "[on the command line: --out, --force]" in r.output, r.output
    r = CliRunner().invoke(cli, ["review", str(clip), str(path), "--out", str(path)])
    assert r.exit_code == 1 and "[on the command line: --out, TRACKS]" in r.output, r.output
