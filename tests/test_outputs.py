"""`posetrack run`'s outputs: never overwritten unasked, never half-written, errors that name the file."""
from __future__ import annotations

import errno
import json
import os

import pytest
from click.testing import CliRunner

from posetrack.errors import OutputExistsError, SourceError
from posetrack.tracksfile.journal import journal_path
from posetrack.pipeline.runner import Outputs, load_models, run_video
from posetrack.tracksfile.codec import read_tracks
from posetrack_cli import cli
from helpers.runpath import cli_args, make_clip, run_options


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip"), frames=6)


@pytest.fixture(scope="module")
def models(clip):
    return load_models(run_options(clip))


def run_cli(clip, *args):
    return CliRunner().invoke(cli, ["run", *cli_args(clip), "--frame-batch", "2", *map(str, args)],
                              terminal_width=100)


def one_line(output: str) -> str:
    return " ".join(output.split())


def test_an_existing_output_is_never_overwritten_without_force(clip, tmp_path):
    out, render = tmp_path / "tracks.json", tmp_path / "annotated.mp4"
    assert run_cli(clip, "--out", out).exit_code == 0
    first = out.read_bytes()
    result = run_cli(clip, "--out", out)
    assert result.exit_code == 1
    assert f"{out}: already exists; overwrite it with --force" in one_line(result.output)
    render.write_bytes(b"someone's video")
    result = run_cli(clip, "--out", tmp_path / "other.json", "--render", render)
    assert result.exit_code == 1 and f"{render}: already exists" in one_line(result.output)
    assert render.read_bytes() == b"someone's video" and not (tmp_path / "other.json").exists()
    result = run_cli(clip, "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == first
    result = run_cli(clip, "--out", out, "--force", "--resume")
    assert result.exit_code == 2 and "give one" in result.output


def test_an_interrupted_run_is_named_with_both_ways_on(clip, tmp_path, monkeypatch):
    import posetrack.tracksfile.journal as journal

    out = tmp_path / "tracks.json"
    real = journal.Journal.frame
    calls = {"n": 0}

    def frame(self, result):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, result)

    monkeypatch.setattr(journal.Journal, "frame", frame)
    assert run_cli(clip, "--out", out).exit_code == 130
    monkeypatch.undo()
    result = run_cli(clip, "--out", out)
    assert result.exit_code == 1
    text = one_line(result.output)
    assert "interrupted run" in text and "--resume" in text and "--force" in text
    with pytest.raises(OutputExistsError) as e:
        run_video(clip["frames"], out, run_options(clip, frame_batch=2))
    assert e.value.resumable and e.value.path == out and "--" not in str(e.value)   # the library names no flags


def test_a_journal_without_finished_frames_is_not_in_the_way(clip, models, tmp_path):
    out = tmp_path / "tracks.json"
    from posetrack.tracksfile.journal import JOURNAL_VERSION

    head = {"format": "posetrack-journal", "version": JOURNAL_VERSION, "video": {}, "layout": "coco", "settings": {},
            "run": {}, "inputs": {}}
    journal_path(out).write_text(json.dumps(head) + "\n")
    run_video(clip["frames"], out, run_options(clip), models=models)
    assert read_tracks(out).complete and not journal_path(out).exists()


def test_a_failed_start_leaves_nothing_behind(clip, models, tmp_path, monkeypatch):
    import posetrack.pipeline.journaled as runner

    def broken(*args, **kwargs):
        raise RuntimeError("the encoder broke")

    monkeypatch.setattr(runner, "_renderer", broken)
    outputs = Outputs(tmp_path / "tracks.json", render=tmp_path / "a.mp4")
    with pytest.raises(RuntimeError):
        run_video(clip["frames"], outputs, run_options(clip), models=models)
    assert sorted(p.name for p in tmp_path.iterdir()) == []      # no journal, no partial file: nothing finished


def test_disk_full_names_the_file_and_leaves_no_tmp(clip, tmp_path, monkeypatch):
    out = tmp_path / "tracks.json"
    real_write = os.write

    def write(fd, data):            # the disk fills up as the tracks file is written
        if os.readlink(f"/proc/self/fd/{fd}") == f"{out}.tmp":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    result = run_cli(clip, "--out", out)
    assert result.exit_code == 1
    assert f"{out}: No space left on device" in one_line(result.output)
    assert not list(tmp_path.glob("*.tmp")) and not out.exists()
    assert journal_path(out).exists()           # the finished frames are kept for --resume
    monkeypatch.undo()
    result = run_cli(clip, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert read_tracks(out).complete and len(read_tracks(out).frames) == 6


def test_a_read_only_folder_fails_at_once_naming_the_output(clip, models, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    out = folder / "tracks.json"
    if os.geteuid() != 0:       # a real read-only folder (root writes anywhere, so it gets an injected one)
        folder.chmod(0o555)
    else:
        real_open = os.open

        def read_only(path, *args, **kwargs):
            if str(path).startswith(str(folder)):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", read_only)
    try:
        result = run_cli(clip, "--out", out)
        assert result.exit_code == 1
        assert str(out) in result.output and "Traceback" not in result.output
        assert ".tmp" not in one_line(result.output)
        with pytest.raises(OSError) as e:
            run_video(clip["frames"], out, run_options(clip), models=models)
        assert e.value.filename in (str(out), str(journal_path(out)))
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_a_damaged_image_is_named_and_the_frames_before_it_are_kept(clip, models, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for png in sorted(clip["frames"].iterdir()):
        (folder / png.name).write_bytes(png.read_bytes())
    sorted(folder.iterdir())[4].write_bytes(b"not a png")
    out = tmp_path / "tracks.json"
    with pytest.raises(SourceError, match="0004.png"):          # the damaged image is named
        run_video(folder, out, run_options(clip, frame_batch=2), models=models)
    tracks = read_tracks(out)                                   # and the frames before it are kept
    assert not tracks.complete
    assert [f.frame for f in tracks.frames] == [0, 1, 2, 3]


def test_a_killed_runs_stale_tmp_files_are_cleared(clip, models, tmp_path):
    out = tmp_path / "tracks.json"
    for stale in (tmp_path / "tracks.json.tmp", tmp_path / "tracks.json.journal.tmp"):
        stale.write_text("half a file")           # what a SIGKILL during a rename-into-place leaves
    run_video(clip["frames"], out, run_options(clip), models=models)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracks.json"]
