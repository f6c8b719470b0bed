"""Hand edits of track ids (posetrack.tracksfile.edit, `posetrack edit`): each operation, its refusals,
the records in settings.edits, undo (a Hypothesis round trip, byte for byte) and replay."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import posetrack
from posetrack.tracksfile import edit
from posetrack.tracksfile.codec import read_tracks, write_tracks
from posetrack_cli import cli
from helpers.review_data import crossing, frame_result, many_tracks, tracks_of

T = "2025-01-02T03:04:05Z"


def ids_by_frame(tracks):
    """{frame: [ids in file order]} (a naive reading of the file, for comparisons)."""
    return {f.frame: [] if f.track_ids is None else f.track_ids.tolist() for f in tracks.frames}


def frames_of(tracks, tid):
    return [f.frame for f in tracks.frames if f.track_ids is not None and tid in f.track_ids.tolist()]


def boxes_of(tracks, tid):
    return {f.frame: f.poses.boxes[f.track_ids.tolist().index(tid)].tolist() for f in tracks.frames
            if f.track_ids is not None and tid in f.track_ids.tolist()}


def written(tmp_path, tracks, name="t.json") -> bytes:
    path = tmp_path / name
    write_tracks(path, tracks)
    return path.read_bytes()


# ---------------------------------------------------------------- each operation


def test_swap_exchanges_ids_from_the_frame_on_and_records_it():
    t = crossing(n=24, swap_at=14)
    fixed = edit.swap(t, 0, 1, 14, time=T)
    p_box = {f: b for f, b in boxes_of(t, 0).items() if f < 14} | {f: b for f, b in boxes_of(t, 1).items() if f >= 14}
    assert boxes_of(fixed, 0) == p_box                      # id 0 is P in every frame now
    assert ids_by_frame(fixed)[13] == [0, 1] and ids_by_frame(fixed)[14] == [0, 1]
    assert fixed.header.settings["edits"] == [{"verb": "swap", "a": 0, "b": 1, "from": 14, "time": T}]
    assert t.header.settings.get("edits") is None            # the input is not changed
    assert fixed.header.settings["tracker"] == "test"


def test_merge_joins_two_tracks_and_refuses_an_overlap_naming_the_frames():
    t = many_tracks()
    merged = edit.merge(t, 1, 2, time=T)
    assert frames_of(merged, 1) == frames_of(t, 1) + frames_of(t, 2)
    assert frames_of(merged, 2) == []
    assert merged.header.settings["edits"][0]["undo"] == {"frames": [[6, 7], [8, 12]]}
    with pytest.raises(edit.EditError, match=r"merge 0 5: 0 and 5 both have a pose in frames 2-6, 8"):
        edit.merge(t, 0, 5)


def test_split_gives_the_later_poses_a_new_id():
    t = many_tracks()
    out = edit.split(t, 0, 5, time=T)
    assert frames_of(out, 0) == [0, 1, 2, 3, 4]
    assert frames_of(out, 10) == [5, 6, 8, 9, 10, 11]        # 10 = the largest id (9) + 1; frame 7 is empty
    assert out.header.settings["edits"][0] == {"verb": "split", "a": 0, "at": 5, "new": 10, "time": T}
    assert frames_of(edit.split(t, 0, 5, new=42), 42) == frames_of(out, 10)


def test_delete_whole_track_or_a_frame_range():
    t = many_tracks()
    gone = edit.delete(t, 5, time=T)
    assert frames_of(gone, 5) == []
    assert sum(len(f) for f in gone.frames) == sum(len(f) for f in t.frames) - len(frames_of(t, 5))
    part = edit.delete(t, 0, (3, 6))
    assert frames_of(part, 0) == [0, 1, 2, 6, 8, 9, 10, 11]
    kept = {f.frame: f.poses.boxes.tolist() for f in part.frames}
    for f in t.frames:                                      # the others keep their poses and their order
        others = [b for b, i in zip(f.poses.boxes.tolist(), ids_by_frame(t)[f.frame]) if not (i == 0 and 3 <= f.frame < 6)]
        assert kept[f.frame] == others


def test_relabel_renames_and_refuses_an_existing_id():
    t = many_tracks()
    out = edit.relabel(t, 9, 3, time=T)
    assert frames_of(out, 3) == frames_of(t, 9) and frames_of(out, 9) == []
    with pytest.raises(edit.EditError, match="id 5 is already in the file"):
        edit.relabel(t, 9, 5)


@pytest.mark.parametrize("op, message", [
    (edit.Swap(0, 7, 3), r"id 7 is not in the file \(ids: 0, 1, 2, 5, 9\)"),
    (edit.Merge(3, 1), "id 3 is not in the file"),
    (edit.Split(4, 2), "id 4 is not in the file"),
    (edit.Delete(8), "id 8 is not in the file"),
    (edit.Relabel(6, 60), "id 6 is not in the file"),
    (edit.Swap(0, 1, 12), r"frame 12 is out of range: the video has frames 0-11"),
    (edit.Swap(1, 5, 9), "neither 1 nor 5 has a pose from frame 9 on"),
    (edit.Swap(1, 1, 2), r"the two ids are the same \(1\)"),
    (edit.Split(0, 40), "frame 40 is out of range"),
    (edit.Split(2, 6), "2 has no pose before frame 6"),
    (edit.Split(1, 5), "1 has no pose from frame 5 on"),
    (edit.Split(0, 5, 2), "id 2 is already in the file"),
    (edit.Delete(0, (5, 13)), "frame range 5:13 runs past the video's 12 frames"),
    (edit.Delete(0, (5, 5)), "frames 5:5 is empty"),
    (edit.Delete(1, (6, 12)), "1 has no pose in frames 6-11"),
    (edit.Relabel(0, 2 ** 63), r"a track id is an integer 0..2\^63-1"),
])
def test_refusals_name_the_problem(op, message):
    with pytest.raises(edit.EditError, match=message):
        edit.apply(many_tracks(), [op])


def test_edits_apply_in_order_and_atomically():
    t = many_tracks()
    out = edit.apply(t, [edit.Relabel(1, 3), edit.Merge(3, 2)], time=T)   # the merge sees the relabelled id
    assert frames_of(out, 3) == frames_of(t, 1) + frames_of(t, 2)
    with pytest.raises(edit.EditError, match=r"edit 2 of 2, merge 0 1: 0 and 1 both have"):
        edit.apply(t, [edit.Delete(9), edit.Merge(0, 1)])
    assert edit.apply(t, []) is t


def test_untracked_file_is_refused():
    t = tracks_of([frame_result(0, [(0, (1, 1, 5, 5))])], 1)
    untracked = tracks_of([type(t.frames[0])(0, t.frames[0].poses, None)], 1)
    with pytest.raises(edit.EditError, match="without a tracker"):
        edit.delete(untracked, 0)


# ---------------------------------------------------------------- undo and replay


def test_undo_restores_the_file_byte_for_byte_through_files(tmp_path):
    t = many_tracks()
    original = written(tmp_path, t, "orig.json")
    ops = [edit.Delete(0, (3, 6)), edit.Swap(1, 5, 2), edit.Split(2, 8), edit.Delete(9, (10, 11)),
           edit.Merge(9, 10), edit.Relabel(9, 70), edit.Delete(5)]
    edited = edit.apply(read_tracks(tmp_path / "orig.json"), ops, time=T)
    write_tracks(tmp_path / "edited.json", edited)
    records = json.loads((tmp_path / "edited.json").read_text())["settings"]["edits"]
    assert [r["verb"] for r in records] == ["delete", "swap", "split", "delete", "merge", "relabel", "delete"]
    back = edit.undo(read_tracks(tmp_path / "edited.json"), len(ops))
    assert written(tmp_path, back, "back.json") == original
    partly = edit.undo(read_tracks(tmp_path / "edited.json"), 2)
    assert partly.header.settings["edits"] == records[:5]


def with_edits(tracks, records):
    """``tracks`` with its settings.edits replaced (a file someone changed by hand)."""
    header = tracks.header.__class__(tracks.header.video, tracks.header.layout, {"edits": records})
    return tracks.__class__(header, tracks.frames)


def test_undo_refuses_what_it_cannot_undo():
    merged = edit.merge(many_tracks(), 1, 2, time=T)
    with pytest.raises(edit.EditError, match=r"cannot undo 2 edit\(s\): the file records 1"):
        edit.undo(merged, 2)
    again = with_edits(edit.relabel(merged, 5, 2, time=T), merged.header.settings["edits"])
    with pytest.raises(edit.EditError, match=r"cannot undo settings.edits\[0\] \(merge 1 2\): id 2 is in the file"):
        edit.undo(again)
    with pytest.raises(edit.EditError, match=r"settings.edits\[0\]"):
        edit.undo(with_edits(merged, [{"verb": "swap", "a": 1}]))
    with pytest.raises(edit.EditError, match="not a list"):
        edit.undo(with_edits(merged, {"verb": "swap"}))


def test_replay_applies_the_missing_records_with_their_times(tmp_path):
    t = many_tracks()
    first = edit.apply(t, [edit.Swap(1, 5, 2)], time=T)
    fixed = edit.apply(first, [edit.Delete(9), edit.Split(0, 6)], time="2025-02-03T00:00:00Z")
    assert written(tmp_path, edit.replay(t, fixed)) == written(tmp_path, fixed, "f.json")
    assert written(tmp_path, edit.replay(first, fixed)) == written(tmp_path, fixed, "f.json")
    assert edit.recorded(fixed)[1] == (edit.Delete(9), "2025-02-03T00:00:00Z")


def test_edit_time_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert edit.edit_time() == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(edit.EditError, match="SOURCE_DATE_EPOCH"):
        edit.edit_time()


# ---------------------------------------------------------------- the round trip, as a property

@st.composite
def small_files(draw):
    """A small tracks file: tracks as spans with holes, people in any order, any int64 ids, some interpolated."""
    n = draw(st.integers(2, 9))
    pool = draw(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 2 ** 63 - 1)), min_size=1, max_size=5,
                         unique=True))
    spans = {}
    for tid in pool:
        first = draw(st.integers(0, n - 1))
        last = draw(st.integers(first, n - 1))
        spans[tid] = set(range(first, last + 1)) - draw(st.sets(st.integers(first, last), max_size=2))
    frames = []
    for i in range(n):
        here = draw(st.permutations([tid for tid in pool if i in spans[tid]]))
        boxes = [(draw(st.floats(0, 300, width=16)), draw(st.floats(0, 200, width=16))) for _ in here]
        interp = [draw(st.booleans()) for _ in here] if here else None
        frames.append(frame_result(i, [(tid, (x, y, x + 20.5, y + 40.25)) for tid, (x, y) in zip(here, boxes)],
                                   interpolated=interp))
    extra = draw(st.sampled_from([None, {"tracker": "x"}, {"tracker": "x", "edits": [{"old": 1}]}]))
    return tracks_of(frames, n, extra)


def an_edit(data, tracks):
    """One edit on the ids the file has now (it may still be refused: a merge of overlapping tracks...)."""
    ids = edit.track_ids(tracks)
    tid = st.sampled_from(ids)
    pair = st.permutations(ids).map(lambda p: p[:2]).filter(lambda p: len(p) == 2) if len(ids) > 1 else None
    frame = st.integers(0, tracks.header.video.frames - 1)
    two = [st.builds(lambda p, f: edit.Swap(p[0], p[1], f), pair, frame),
           st.builds(lambda p: edit.Merge(*p), pair)] if pair is not None else []
    return data.draw(st.one_of(
        *two,
        st.builds(edit.Split, tid, frame, st.one_of(st.none(), st.integers(0, 50))),
        st.builds(edit.Delete, tid, st.one_of(st.none(), st.tuples(frame, frame).map(lambda f: (f[0], f[1] + 1)))),
        st.builds(edit.Relabel, tid, st.integers(0, 2 ** 63 - 1))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_files(), st.data())
def test_edits_then_undo_give_back_the_original_bytes(tmp_path, tracks, data):
    """Edits (up to 8 tries; refused ones are skipped), written and read back, then all undone: the same bytes."""
    original = written(tmp_path, tracks, "orig.json")
    done = read_tracks(tmp_path / "orig.json")
    applied = 0
    for _ in range(8):
        if not edit.track_ids(done):
            break
        try:
            done = edit.apply(done, [an_edit(data, done)], time=T)
            applied += 1
        except edit.EditError:
            pass
    if not applied:
        return
    write_tracks(tmp_path / "edited.json", done)
    back = edit.undo(read_tracks(tmp_path / "edited.json"), applied)
    assert written(tmp_path, back, "back.json") == original


# ---------------------------------------------------------------- the command line


def run(*args, env=None):
    return CliRunner().invoke(cli, ["edit", *map(str, args)], terminal_width=100, env=env)


def test_cli_applies_several_operations_like_the_library(tmp_path):
    src = tmp_path / "t.json"
    write_tracks(src, many_tracks())
    env = {"SOURCE_DATE_EPOCH": "1735787045"}               # 2025-01-02T03:04:05Z
    r = run(src, "-o", tmp_path / "o.json", "merge", 1, 2, "delete", 9, "--frames", "3:5", "split", 0, "--at", 6,
            "--new", 30, "swap", 0, 5, "--from", 4, "relabel", 30, 31, env=env)
    assert r.exit_code == 0, r.output
    expected = edit.apply(read_tracks(src), [edit.Merge(1, 2), edit.Delete(9, (3, 5)), edit.Split(0, 6, 30),
                                             edit.Swap(0, 5, 4), edit.Relabel(30, 31)], time=T)
    assert (tmp_path / "o.json").read_bytes() == written(tmp_path, expected, "lib.json")
    assert "5 edit(s) applied" in r.output and "swap: swap 0 5 --from 4" in r.output


def test_cli_open_frame_ranges_undo_and_in_place(tmp_path):
    src = tmp_path / "t.json"
    write_tracks(src, many_tracks())
    before = src.read_bytes()
    assert run(src, "-o", tmp_path / "a.json", "delete", 0, "--frames", "9:").exit_code == 0
    assert frames_of(read_tracks(tmp_path / "a.json"), 0) == [0, 1, 2, 3, 4, 5, 6, 8]
    assert run(src, "--in-place", "delete", 0, "--frames", ":2", "relabel", 9, 12).exit_code == 0
    assert frames_of(read_tracks(src), 0)[:2] == [2, 3]
    r = run(src, "--in-place", "--undo", "2")
    assert r.exit_code == 0, r.output
    assert src.read_bytes() == before and "2 edit(s) undone" in r.output


@pytest.mark.parametrize("args, message", [
    (["merge", "0", "5"], "0 and 5 both have a pose in frames 2-6, 8"),
    (["swap", "0", "7", "--from", "1"], "id 7 is not in the file"),
    (["delete", "0", "--frames", "3:20"], "runs past the video's 12 frames"),
    (["swap", "0", "1"], "Missing option '--from'"),
    (["frobnicate", "1"], "'frobnicate' is not an operation"),
    (["delete", "0", "--frames", "a:b"], "expected F1:F2"),
    (["relabel", "1"], "Missing argument 'NEW'"),
])
def test_cli_refusals_write_nothing(tmp_path, args, message):
    src = tmp_path / "t.json"
    write_tracks(src, many_tracks())
    r = run(src, "-o", tmp_path / "o.json", *args)
    assert r.exit_code in (1, 2) and message in r.output, r.output
    assert not (tmp_path / "o.json").exists()


def test_cli_modes_and_outputs_are_checked(tmp_path):
    src = tmp_path / "t.json"
    write_tracks(src, many_tracks())
    assert "needs" not in run(src, "--suggest").output
    assert "-o/--out (or --in-place) is needed" in run(src, "merge", 1, 2).output
    assert "cannot be combined" in run(src, "-o", tmp_path / "o.json", "merge", 1, 2, "--undo").output
    assert run(src, "-o", src, "merge", 1, 2).exit_code == 1                  # the output would be the input
    (tmp_path / "o.json").write_text("keep")
    assert run(src, "-o", tmp_path / "o.json", "merge", 1, 2).exit_code == 1
    assert (tmp_path / "o.json").read_text() == "keep"


def test_errors_name_the_argument_and_the_cli_its_flag(tmp_path, monkeypatch):
    """``err.field`` names the argument at fault; the CLI shows its flag (cli/_errors.FIELD_FLAGS)."""
    src, fixed, bad = tmp_path / "t.json", tmp_path / "f.json", tmp_path / "bad.json"
    write_tracks(src, many_tracks())
    assert run(src, "-o", fixed, "merge", 1, 2).exit_code == 0
    r = run(fixed, "-o", tmp_path / "u.json", "--undo", 3)
    assert r.exit_code == 1 and "cannot undo 3 edit(s)" in r.output and "[on the command line: --undo]" in r.output
    write_tracks(bad, with_edits(many_tracks(), [{"verb": "swap", "a": 1}]))
    r = run(src, "-o", tmp_path / "r.json", "--replay", bad)
    assert r.exit_code == 1 and f"{bad}: the edited file's records: settings.edits[0]" in r.output, r.output
    assert "[on the command line: --replay]" in r.output
    assert "[on the command line: --out, TRACKS]" in run(src, "-o", src, "merge", 1, 2).output
    with pytest.raises(edit.EditError) as undo_error:
        edit.undo(many_tracks())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(edit.EditError, match="SOURCE_DATE_EPOCH") as time_error:
        edit.merge(many_tracks(), 1, 2)
    assert (undo_error.value.field, time_error.value.field) == ("count", "time")


def test_cli_replay_and_help(tmp_path):
    src, fixed = tmp_path / "t.json", tmp_path / "f.json"
    write_tracks(src, many_tracks())
    assert run(src, "-o", fixed, "merge", 1, 2, "relabel", 9, 40).exit_code == 0
    assert run(src, "-o", tmp_path / "r.json", "--replay", fixed).exit_code == 0
    assert (tmp_path / "r.json").read_bytes() == fixed.read_bytes()
    text = run("-h").output
    for part in ("swap A B --from F", "merge A B", "split A --at F", "delete A [--frames F1:F2]", "relabel A NEW",
                 "posetrack edit tracks.json -o fixed.json merge 3 8 delete 9 --frames 10:20", "--undo"):
        assert part in text


def test_suggest_lists_the_planted_swap_with_its_fix(tmp_path):
    src = tmp_path / "t.json"
    write_tracks(src, crossing(n=24, swap_at=14))
    r = run(src, "--suggest")
    assert r.exit_code == 0, r.output
    assert "frame     14  swap" in r.output and "swap 0 1 --from 14" in r.output


def test_posetrack_edit_is_the_module():
    assert posetrack.edit is edit
    from posetrack import edit as same

    assert same.Swap is edit.Swap
