"""Many sources: expanding command-line items, and output names that never collide."""
import os
from pathlib import Path

import pytest

from posetrack.pipeline.batch import default_tracks_path, output_names, plan_jobs, source_stem
from posetrack.errors import InputError, SourceError
from posetrack.io.source_list import expand_sources


def touch(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


@pytest.fixture
def tree(tmp_path):
    """clips/{c10,c2,c1}.mp4 + notes.json; seqs/{s1,s2}/*.jpg; seqs/empty/; one.avi."""
    for name in ("c10.mp4", "c2.mp4", "c1.mp4", "notes.json"):
        touch(tmp_path / "clips" / name)
    for seq in ("s2", "s1"):
        for k in range(3):
            touch(tmp_path / "seqs" / seq / f"{k:06d}.jpg")
    (tmp_path / "seqs" / "empty").mkdir()
    touch(tmp_path / "one.avi")
    return tmp_path


def test_paths_keep_their_order(tree):
    items = [str(tree / "one.avi"), str(tree / "clips" / "c2.mp4")]
    assert expand_sources(items) == items


def test_folder_of_videos_in_natural_order_skips_other_files(tree):
    assert [Path(s).name for s in expand_sources([str(tree / "clips")])] == ["c1.mp4", "c2.mp4", "c10.mp4"]


def test_folder_of_sequences_and_a_sequence_folder(tree):
    assert [Path(s).name for s in expand_sources([str(tree / "seqs")])] == ["s1", "s2"]
    assert expand_sources([str(tree / "seqs" / "s1")]) == [str(tree / "seqs" / "s1")]


def test_glob_patterns_natural_order(tree):
    assert [Path(s).name for s in expand_sources([str(tree / "clips" / "c*.mp4")])] == ["c1.mp4", "c2.mp4", "c10.mp4"]
    assert [Path(s).name for s in expand_sources([str(tree / "**" / "*.avi")])] == ["one.avi"]


def test_list_file_relative_paths_comments_and_globs(tree):
    listing = tree / "lists" / "videos.txt"
    listing.parent.mkdir()
    listing.write_text("# my clips\n\n../one.avi\n  ../clips/c1*.mp4  \n" + str(tree / "seqs" / "s2") + "\n")
    got = expand_sources([str(listing)])
    assert [os.path.realpath(s) for s in got] == [os.path.realpath(p) for p in (
        tree / "one.avi", tree / "clips" / "c1.mp4", tree / "clips" / "c10.mp4", tree / "seqs" / "s2")]
    other = tree / "lists" / "named.anything"
    other.write_text("../one.avi\n")
    assert [Path(s).name for s in expand_sources(["@" + str(other)])] == ["one.avi"]


def test_repeats_are_dropped_and_urls_pass_through(tree):
    one = str(tree / "one.avi")
    url = "rtsp://camera.local/stream1"
    assert expand_sources([one, url, str(tree / "." / "one.avi"), url]) == [one, url]


def test_every_unresolved_item_is_named_in_one_error(tree):
    with pytest.raises(SourceError) as e:
        expand_sources([str(tree / "missing.mp4"), str(tree / "clips" / "*.mkv"), str(tree / "seqs" / "empty"),
                        str(tree / "one.avi")])
    text = str(e.value)
    assert "missing.mp4: no such file" in text and "*.mkv: the pattern matches nothing" in text
    assert "empty: no images, no videos" in text
    bad_list = tree / "bad.txt"
    bad_list.write_text("one.avi\nnope.mp4\n")
    with pytest.raises(SourceError, match=r"bad.txt, line 2: .*nope.mp4: no such file"):
        expand_sources([str(bad_list)])


# ---------------------------------------------------------------- names

def test_default_name_uses_the_whole_stem(tmp_path):
    assert default_tracks_path("videos/match.part1.avi") == Path("videos/match.part1.tracks.json")
    assert default_tracks_path("videos/match.part2.avi") == Path("videos/match.part2.tracks.json")
    (tmp_path / "frames").mkdir()
    assert default_tracks_path(str(tmp_path / "frames") + "/") == tmp_path / "frames.tracks.json"
    assert source_stem("clip.v2.final.mp4") == "clip.v2.final"


def test_names_add_only_what_is_needed(tmp_path):
    a, b = touch(tmp_path / "a" / "clip.mp4"), touch(tmp_path / "b" / "clip.mp4")
    avi = touch(tmp_path / "a" / "clip.avi")
    other = touch(tmp_path / "a" / "other.mp4")
    assert output_names([a, other]) == ["clip", "other"]
    assert output_names([a, b]) == ["a__clip", "b__clip"]
    assert output_names([a, avi]) == ["clip.mp4", "clip.avi"]
    assert output_names([a, b, avi, other]) == ["a__clip", "b__clip", "clip.avi", "other"]
    assert output_names(["x/match.part1.avi", "x/match.part2.avi"]) == ["match.part1", "match.part2"]


def test_names_ignore_case_and_number_true_duplicates(tmp_path):
    up, low = touch(tmp_path / "A" / "Clip.mp4"), touch(tmp_path / "b" / "clip.mp4")
    assert output_names([up, low]) == ["A__Clip", "b__clip"]
    same = touch(tmp_path / "c" / "x.mp4")
    assert output_names([same, same, same]) == ["x", "x-2", "x-3"]


def test_plan_jobs_names_every_output_and_checks_boxes(tmp_path):
    a, b = touch(tmp_path / "a" / "clip.mp4"), touch(tmp_path / "b" / "clip.mp4")
    boxes = tmp_path / "boxes"
    boxes.mkdir()
    (boxes / "a__clip.json").write_text("[]")
    with pytest.raises(InputError, match=r"no boxes file for 1 of 2 sources.*b__clip.json"):
        plan_jobs([a, b], tmp_path / "out", boxes_dir=boxes)
    (boxes / "b__clip.json").write_text("[]")
    jobs = plan_jobs([a, b], tmp_path / "out", render_dir=tmp_path / "mp4", posetrack2018_dir=tmp_path / "pt",
                     boxes_dir=boxes)
    assert jobs[1].outputs.tracks == tmp_path / "out" / "b__clip.tracks.json"
    assert jobs[1].outputs.render == tmp_path / "mp4" / "b__clip.mp4"
    assert jobs[1].outputs.posetrack2018 == tmp_path / "pt" / "b__clip.json"
    assert jobs[1].outputs.posetrack2017 is None and jobs[1].boxes_file == str(boxes / "b__clip.json")


def test_names_never_collide_and_depend_only_on_the_list():
    """400 seeded random lists drawn from names built to clash (case, suffix, parents, '__')."""
    import random

    rng = random.Random(0)
    segments = ["a", "b", "A", "clip", "Clip", "x.y", "a__clip"]
    for _ in range(400):
        sources = [os.path.join("/data", *rng.choices(segments, k=rng.randint(0, 3)),
                                rng.choice(segments) + rng.choice([".mp4", ".avi", ".MP4", ""]))
                   for _ in range(rng.randint(1, 8))]
        names = output_names(sources)
        assert len({n.casefold() for n in names}) == len(names), (sources, names)
        assert names == output_names(list(sources))
        assert all(n and "/" not in n and "\\" not in n for n in names)
