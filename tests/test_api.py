"""The Python API: posetrack.track / run / render / evaluate / build_tracker, lazy exports, the README example."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import posetrack
import posetrack.api as api
from helpers.api_data import N, figure_boxes, make_video, tiny_options
from posetrack.errors import ConfigError, InputError
from posetrack.tracksfile.codec import frame_to_dict, read_tracks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def results(data):
    """Results on the PNG frames: each crop is an exact translation of the first, so the tiny net's
    poses move with the people and the tracker keeps their ids (MP4 compression would blur that)."""
    return list(posetrack.track(data["frames"], **tiny_options(data)))


#: Put right above a README Python block that needs what a test cannot have (a Ray cluster, a GPU).
NOT_RUN = "<!-- not run by the tests:"


def readme_python_blocks():
    """The README's Python blocks, except those marked with :data:`NOT_RUN` (each says why)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"(<!--[^\n]*-->\n)?```python\n(.*?)```", text, flags=re.S)
    return [code for marker, code in blocks if not marker.startswith(NOT_RUN)]


def docstring_example():
    """The indented code block after "Example" in the package docstring."""
    import textwrap

    block = re.search(r"Example.*?::\n\n(.*?)\n\n(?=\S)", posetrack.__doc__, flags=re.S).group(1)
    return textwrap.dedent(block)


def test_readme_python_examples_run(data, tmp_path, monkeypatch):
    """Every Python block of the README, and the package docstring's example, run as written on video.mp4.

    The blocks use the default (or a published) pose model and the person detector, whose
    weights a test cannot download; the calls that load models get the tiny test model,
    test-made weights and the video's boxes file instead, overriding what the block says.
    Everything else (iteration, results, files, rendering) runs as a user's would.
    """
    blocks = readme_python_blocks() + [docstring_example()]
    assert len(blocks) >= 3 and any("posetrack.track(" in b and "posetrack.run(" in b for b in blocks)
    tiny = tiny_options(data)
    for name in ("track", "run", "load_models"):
        real = getattr(api, name)
        monkeypatch.setattr(posetrack, name, lambda *a, _real=real, **k: _real(*a, **{**k, **tiny}))
    written = []
    for i, code in enumerate(blocks):              # each example in a fresh folder, as a user would run it
        folder = tmp_path / f"example{i}"
        folder.mkdir()
        (folder / "video.mp4").symlink_to(data["video"])
        monkeypatch.chdir(folder)
        exec(compile(code, f"README.md python block {i}", "exec"), {"__name__": f"readme_{i}"})
        if (folder / "tracks.json").exists():
            written.append(folder)
    assert written
    for folder in written:
        tracks = read_tracks(folder / "tracks.json")
        assert tracks.complete and [f.frame for f in tracks.frames] == list(range(N))
        assert (folder / "annotated.mp4").stat().st_size > 1000


def test_track_yields_every_frame_with_stable_ids(results):
    assert [r.frame for r in results] == list(range(N))
    times = [r.time for r in results]                     # None where the source gives no timestamps
    assert times == [None] * N or times == sorted(times) and len(set(times)) == N
    for r in results:
        assert len(r) == 2 and r.track_ids.dtype == np.int64 and r.poses.keypoints.shape == (2, 17, 2)
        assert r.layout.name == "coco" and r.image.shape == (120, 160, 3)
    by_x = [dict(zip(np.argsort(r.poses.boxes[:, 0]), r.track_ids)) for r in results]
    assert len({d[0] for d in by_x}) == 1 and len({d[1] for d in by_x}) == 1   # walker and stander keep ids
    assert by_x[0][0] != by_x[0][1]
    np.testing.assert_allclose(np.sort(results[3].poses.boxes[:, 0]), np.sort(figure_boxes()[3][:, 0]), atol=0.5)


def test_to_dict_is_the_tracks_file_entry_written_by_posetrack_run(data, results, tmp_path):
    from posetrack_cli import cli

    out = tmp_path / "tracks.json"
    args = [str(data["frames"]), "--out", str(out), "--pose-model", "hrnet_tiny_128x96", "--pose-weights",
            str(data["weights"]), "--boxes", str(data["boxes"]), "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(cli, ["run", *args])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())["frames"]
    assert [r.to_dict() for r in results] == written
    assert results[0].to_dict() == frame_to_dict(results[0].result)


def test_run_writes_the_same_file_as_the_cli(data, results, tmp_path):
    summary = posetrack.run(data["frames"], tmp_path / "t.json", **tiny_options(data))
    assert summary.frames == N and summary.tracks == 2
    assert [f.frame for f in read_tracks(tmp_path / "t.json").frames] == list(range(N))
    assert json.loads((tmp_path / "t.json").read_text())["frames"] == [r.to_dict() for r in results]


def test_plot_draws_on_a_copy(results):
    r = results[2]
    before = r.image.copy()
    out = r.plot()
    assert out.shape == r.image.shape and out.dtype == np.uint8
    assert np.array_equal(r.image, before)                # the frame is not changed
    assert (out != r.image).any(axis=2).sum() > 50        # skeletons and labels were drawn
    blank = np.zeros_like(r.image)
    assert r.plot(blank, boxes=True, min_score=0.0).any()
    bare = api.TrackResult(frame=0, time=None, poses=r.poses, track_ids=r.track_ids, layout=r.layout)
    with pytest.raises(InputError, match="holds no image"):
        bare.plot()
    assert "people=2" in repr(r)


def test_result_carries_the_frames_time(results):
    from dataclasses import replace

    r = results[1]
    timed = api.TrackResult.from_result(replace(r.result, time=0.04), r.layout, r.image)
    assert timed.time == 0.04 and timed.to_dict()["time"] == 0.04 and "time=0.040" in repr(timed)
    assert "time" not in r.to_dict() or r.time is not None


def test_track_is_lazy_and_checks_options_at_once(tmp_path):
    gen = posetrack.track(tmp_path / "missing.mp4", pose_model="no_such_model")   # nothing happens yet
    with pytest.raises(ConfigError, match="no pose model named 'no_such_model'") as err:
        next(gen)
    assert "w48_384x288" in str(err.value) and "detector" not in str(err.value)   # pose models only
    with pytest.raises(ConfigError, match=r"unknown option 'pose_modle' \(did you mean 'pose_model'\?\)") as err:
        posetrack.track("video.mp4", pose_modle="w32_256x192")
    assert err.value.field == "pose_modle" and err.value.fields == ("pose_modle", "pose_model")
    with pytest.raises(ConfigError, match=r"unknown option 'flow' \(did you mean 'flow_method'\?\)"):
        posetrack.track("video.mp4", flow="dis")


def test_options_are_the_run_command_options():
    """Every pipeline option of `posetrack run` is a keyword of track(), and every keyword is an option of run."""
    import click

    from posetrack.pipeline.runner import RunOptions
    from posetrack_cli import cli

    command = cli.get_command(click.Context(cli), "run")
    flags = {p.name: max(p.opts, key=len) for p in command.params if isinstance(p, click.Option)}
    fields = set(RunOptions.keywords())
    assert fields <= set(flags)                            # every RunOptions field is settable from `run`
    for field in fields:
        flag = flags[field][2:]
        assert flag.replace("-", "_") == field or api.CLI_NAMES[flag] == field


def test_models_are_reused(data, results):
    models = posetrack.load_models(**tiny_options(data))
    first = list(posetrack.track(data["frames"], models=models, end=4, **tiny_options(data)))
    second = list(posetrack.track(data["frames"], models=models, end=4, **tiny_options(data)))
    assert [r.to_dict() for r in first] == [r.to_dict() for r in second] == [r.to_dict() for r in results[:4]]


def test_render_draws_the_tracks_file_and_refuses_another_videos(data, tmp_path):
    from posetrack.io.video import open_source

    short = tmp_path / "short.json"
    posetrack.run(data["video"], short, end=4, **tiny_options(data))       # people in frames 0-3 only
    summary = posetrack.render(data["video"], short, tmp_path / "a.mp4", trails=3, boxes=True)
    assert summary.frames == 4 and summary.frames_with_people == 4          # the range the run covered (issue 17)
    summary = posetrack.render(data["video"], short, tmp_path / "a.mp4", trails=3, boxes=True, start=0, force=True)
    assert summary.frames == N and summary.frames_with_people == 4          # the whole video, when asked for
    with open_source(tmp_path / "a.mp4") as src:
        assert src.info.frames == N and (src.info.width, src.info.height) == (160, 120)
    summary = posetrack.render(data["frames"], short, tmp_path / "png", frames_dir=True, end=3)
    assert summary.frames == 3 and len(list((tmp_path / "png").glob("*.png"))) == 3
    tracks = read_tracks(short)
    from dataclasses import replace

    from posetrack.tracksfile.codec import write_tracks

    wrong = replace(tracks, header=replace(tracks.header, video=replace(tracks.header.video, width=320)))
    write_tracks(short, wrong)
    with pytest.raises(InputError, match="size: the video is 160x120, the tracks are for 320x120"):
        posetrack.render(data["video"], short, tmp_path / "b.mp4")
    assert posetrack.render(data["video"], short, tmp_path / "b.mp4", allow_mismatch=True).frames == 4
    with pytest.raises(ConfigError, match="did you mean 'trails'"):
        posetrack.render(data["video"], tracks, tmp_path / "c.mp4", trail=3)


def test_build_tracker_from_config_with_overrides():
    from posetrack.types import Poses

    tracker = posetrack.build_tracker("tracker", queue=8, matching="hungarian")
    assert tracker.config.queue == 8 and tracker.config.matching == "hungarian"
    assert tracker.config.min_similarity == 0.3            # the rest from configs/tracker.yaml
    kp = np.random.default_rng(0).uniform(100, 200, (2, 17, 2))
    kp[1] += 300
    poses = Poses(np.array([[90, 90, 210, 210], [390, 390, 510, 510]]), np.array([0.9, 0.9]), kp,
                  np.full((2, 17), 0.9))
    first = tracker.update(0, poses).track_ids.tolist()
    assert tracker.update(1, poses.select([1, 0])).track_ids.tolist() == first[::-1]
    assert posetrack.build_tracker(layout="posetrack18").layout.name == "posetrack18"
    with pytest.raises(ConfigError, match="did you mean 'queue'"):
        posetrack.build_tracker(queu=3)
    with pytest.raises(ConfigError, match="queue must be at least 1"):
        posetrack.build_tracker(queue=0)
    with pytest.raises(ConfigError, match="flowtrack"):          # the message lists the presets
        posetrack.build_tracker(preset="bytetrack")
    paper = posetrack.build_tracker(preset="flowtrack", fps=10, frame_size=(640, 360))
    assert paper.config.max_lost is None and paper.fps == 10 and paper.frame_size == (640, 360)
    assert posetrack.build_tracker().config.preset == "robust"


def test_evaluate_and_render_are_functions_after_their_modules_load():
    """Issue 15: ``posetrack.render`` / ``posetrack.evaluate`` are plain functions; their modules live
    in stage subpackages, so importing them can no longer replace the function on the package."""
    import posetrack.eval.evaluate
    import posetrack.rendering.render

    assert posetrack.evaluate is posetrack.eval.evaluate.evaluate
    assert posetrack.render is posetrack.api.render
    assert posetrack.EvalResult is posetrack.eval.evaluate.EvalResult
    assert posetrack.Renderer is posetrack.rendering.render.Renderer


def test_evaluate_scores_a_perfect_prediction(tmp_path):
    """posetrack.evaluate(gt, pred) is posetrack.eval.evaluate.evaluate: a prediction equal to the GT scores 100."""
    def person(track_id, dx, score=None):
        points = [{"id": [j], "x": [100.0 + 10 * j + dx], "y": [50.0 + 5 * j]} for j in range(15)]
        if score is not None:
            for p in points:
                p["score"] = [score]
        rect = {"track_id": [track_id], "x1": [90 + dx], "y1": [40], "x2": [260 + dx], "y2": [140],
                "annopoints": [{"point": points}]}
        if score is not None:
            rect["score"] = [score]
        return rect

    for side, score in (("gt", None), ("pred", 0.9)):
        frames = [{"image": [{"name": f"images/val/seq/{t:06d}.jpg"}], "annorect": [person(0, 3 * t, score)]}
                  for t in range(3)]
        (tmp_path / side).mkdir()
        (tmp_path / side / "seq.json").write_text(json.dumps({"annolist": frames}))
    result = posetrack.evaluate(tmp_path / "gt", tmp_path / "pred")
    scores = result.to_json()
    assert scores["ap"]["total"] == pytest.approx(100.0) and scores["mota"]["total"] == pytest.approx(100.0)


def test_exports_are_lazy_and_callable_in_a_fresh_interpreter():
    code = (
        "import sys, posetrack\n"
        "names = ['track', 'run', 'read_tracks', 'RunOptions', 'TrackResult', 'build_tracker', 'PosetrackError']\n"
        "objs = [getattr(posetrack, n) for n in names]\n"
        "print('HEAVY', [m for m in ('torch', 'cv2', 'torchvision', 'scipy') if m in sys.modules])\n"
        "print('CALLABLE', callable(posetrack.render), callable(posetrack.evaluate))\n"
        "from posetrack.rendering.render import Renderer\n"       # a plain submodule import keeps it callable
        "print('AFTER', callable(posetrack.render), sorted(set(names) - set(dir(posetrack))))\n"
        "try:\n    posetrack.nope\nexcept AttributeError as e:\n    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    assert "CALLABLE True True" in out and "AFTER True []" in out
    assert "ERR module 'posetrack' has no attribute 'nope'" in out
