"""`posetrack edit`: fix track ids by hand (swap, merge, split, delete, relabel), recorded in the file."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from ._common import CONTEXT, OutputFile

VERBS = ("swap", "merge", "split", "delete", "relabel")

EPILOG = """\b
Operations (any number, applied in order; all of them or none):
  swap A B --from F          ids A and B trade places from frame F on
  merge A B                  B becomes A (refused where both have a pose in one frame)
  split A --at F [--new N]   A's poses from frame F on get a new id (N, or the largest id + 1)
  delete A [--frames F1:F2]  remove A (only in frames F1 to F2-1; F1: or :F2 leave an end open)
  relabel A NEW              A becomes NEW, an id not in the file

\b
Examples:
  posetrack edit tracks.json -o fixed.json swap 3 5 --from 120
  posetrack edit tracks.json -o fixed.json merge 3 8 delete 9 --frames 10:20 relabel 12 7
  posetrack edit tracks.json -o fixed.json split 4 --at 200 swap 4 6 --from 250
  posetrack edit fixed.json -o back.json --undo 2        # remove the last two edits
  posetrack edit tracks.json --suggest                   # likely mistakes, with the command that fixes each
  posetrack edit rerun.json -o rerun_fixed.json --replay fixed.json   # the same fixes on an equal file
  posetrack review video.mp4 tracks.json                 # the same edits, clicked in a browser

\b
Frames are the file's frame indices. Every edit is appended to settings.edits in the
output (verb, arguments, UTC time, and what undo needs), so the file shows what was
changed by hand; --undo N removes the last N, giving back the file as it was, byte for
byte. SOURCE_DATE_EPOCH (seconds), when set, is the time recorded.
"""


def _frame_range(value: str) -> Tuple[Optional[int], Optional[int]]:
    """'10:20' -> (10, 20); '10:' -> (10, None); ':20' -> (None, 20); '10' -> (10, 11)."""
    start, sep, end = value.partition(":")
    try:
        first = int(start) if start.strip() else None
        last = int(end) if end.strip() else None
    except ValueError:
        raise click.BadParameter(f"expected F1:F2 (frame numbers, either may be left out), got {value!r}") from None
    if not sep:
        if first is None:
            raise click.BadParameter("expected F1:F2, F1:, :F2 or one frame F")
        return first, first + 1
    return first, last


_ID = click.IntRange(min=0, max=2 ** 63 - 1)
_FRAME = click.IntRange(min=0, max=2 ** 63 - 1)

# One small click command per verb: each parses its own words (arguments, options, usage errors, -h).
_PARSERS: Dict[str, click.Command] = {
    "swap": click.Command("swap", params=[click.Argument(["a"], type=_ID), click.Argument(["b"], type=_ID),
                                          click.Option(["--from", "start"], type=_FRAME, required=True,
                                                       help="First frame of the exchange.")],
                          help="Ids A and B trade places from frame F on."),
    "merge": click.Command("merge", params=[click.Argument(["a"], type=_ID), click.Argument(["b"], type=_ID)],
                           help="B becomes A (refused where both have a pose in one frame)."),
    "split": click.Command("split", params=[click.Argument(["a"], type=_ID),
                                            click.Option(["--at", "at"], type=_FRAME, required=True,
                                                         help="First frame that gets the new id."),
                                            click.Option(["--new", "new"], type=_ID, default=None,
                                                         help="The new id.  [default: the largest id + 1]")],
                           help="A's poses from frame F on get a new id."),
    "delete": click.Command("delete", params=[click.Argument(["a"], type=_ID),
                                              click.Option(["--frames", "frames"], default=None, metavar="F1:F2",
                                                           help="Only frames F1 to F2-1.  [default: all]")],
                            help="Remove A's poses."),
    "relabel": click.Command("relabel", params=[click.Argument(["a"], type=_ID), click.Argument(["new"], type=_ID)],
                             help="A becomes NEW, an id not in the file."),
}


def split_operations(words: List[str]) -> List[List[str]]:
    """['swap', '3', '5', '--from', '9', 'merge', '3', '8'] -> [['swap', '3', '5', '--from', '9'], ['merge', '3', '8']].

    An operation starts at each verb; ids and frames are numbers, so a verb word is never an argument.
    """
    if words and words[0] not in VERBS:
        raise click.UsageError(f"{words[0]!r} is not an operation; operations are {', '.join(VERBS)} "
                               "(`posetrack edit -h` shows their arguments)")
    groups: List[List[str]] = []
    for word in words:
        if word in VERBS:
            groups.append([word])
        else:
            groups[-1].append(word)
    return groups


def parse_operations(words: List[str], ctx: click.Context, frames: int) -> list:
    """The typed operations (:mod:`posetrack.tracksfile.edit`) of the command line's words.

    Args:
        frames: the video's frame count, the end of an open ``--frames F1:``.
    """
    from posetrack.tracksfile import edit

    ops = []
    for group in split_operations(words):
        verb, *rest = group
        command = _PARSERS[verb]
        with command.make_context(f"{ctx.command_path} TRACKS {verb}", rest, parent=ctx) as sub:
            p = sub.params
        if verb == "swap":
            ops.append(edit.Swap(p["a"], p["b"], p["start"]))
        elif verb == "merge":
            ops.append(edit.Merge(p["a"], p["b"]))
        elif verb == "split":
            ops.append(edit.Split(p["a"], p["at"], p["new"]))
        elif verb == "delete":
            span = None if p["frames"] is None else _frame_range(p["frames"])
            ops.append(edit.Delete(p["a"], None if span is None else (span[0] or 0, frames if span[1] is None
                                                                       else span[1])))
        else:
            ops.append(edit.Relabel(p["a"], p["new"]))
    return ops


@click.command("edit", context_settings={**CONTEXT, "ignore_unknown_options": True}, epilog=EPILOG)
@click.argument("tracks_file", metavar="TRACKS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("operations", metavar="OPERATION...", nargs=-1, type=click.UNPROCESSED)
@click.option("-o", "--out", type=OutputFile(), default=None,
              help="Tracks file to write (the input is left as it is).")
@click.option("--in-place", is_flag=True, help="Write TRACKS itself (atomically; --undo takes the edits back).")
@click.option("--undo", type=click.IntRange(min=1), default=None, is_flag=False, flag_value=1, metavar="[N]",
              help="Take back the last N recorded edits (N=1 when left out).")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="EDITED",
              help="Apply the edits recorded in EDITED that TRACKS lacks (same ids: a rerun of the same tracking).")
@click.option("--suggest", is_flag=True,
              help="List likely tracking mistakes (short tracks, breaks, jumps, swaps) with the edit for each.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
def edit(tracks_file: Path, operations: Tuple[str, ...], out: Optional[Path], in_place: bool, undo: Optional[int],
         replay: Optional[Path], suggest: bool, force: bool) -> None:
    """Fix track ids by hand: apply OPERATIONs to TRACKS and write the result to --out.

    Each OPERATION is a verb and its arguments (listed below); write several one after the
    other. They are applied in order, and if one cannot be applied (an unknown id, a frame
    out of range, a merge of tracks that share frames) nothing is written.
    """
    from posetrack.tracksfile import edit as edits
    from posetrack.tracksfile.codec import read_tracks, write_tracks

    ctx = click.get_current_context()
    _check_modes(operations, undo, replay, suggest, out, in_place)
    tracks = read_tracks(tracks_file)
    ops = parse_operations(list(operations), ctx, int(tracks.header.video.frames or 0))
    try:
        if undo is not None:
            result = edits.undo(tracks, undo)
        elif replay is not None:
            result = edits.replay(tracks, read_tracks(replay))
        else:
            result = edits.apply(tracks, ops)
    except edits.EditError as e:
        where = replay if e.field == "edited" else tracks_file
        raise edits.EditError(f"{where}: {e}", fields=e.fields) from None
    if suggest:
        _print_hints(result, tracks_file, out)
    target = tracks_file if in_place else out
    if target is None:
        return
    if not in_place:
        from posetrack.io.guard import check_writes

        check_writes({"out": out}, {"tracks": tracks_file, "replay": replay}, force=force)
    write_tracks(target, result)
    _report(tracks, result, target)


def _check_modes(operations, undo, replay, suggest, out, in_place) -> None:
    modes = [name for name, on in (("operations", bool(operations)), ("--undo", undo is not None),
                                   ("--replay", replay is not None)) if on]
    if len(modes) > 1:
        raise click.UsageError(f"{' and '.join(modes)} cannot be combined; run them one after the other")
    if out is not None and in_place:
        raise click.UsageError("--out and --in-place cannot be combined")
    if (modes or not suggest) and out is None and not in_place:
        what = "the edited tracks" if modes else "anything (give OPERATIONs, --undo, --replay or --suggest)"
        raise click.UsageError(f"-o/--out (or --in-place) is needed to write {what}")


def _report(before, after, target: Path) -> None:
    from posetrack.tracksfile.edit import EDITS_KEY

    old = len(before.header.settings.get(EDITS_KEY, []))
    new = after.header.settings.get(EDITS_KEY, [])
    if len(new) >= old:
        for record in new[old:]:
            click.echo(f"{record['verb']}: {_record_text(record)}", err=True)
        click.echo(f"{len(new) - old} edit(s) applied, {len(new)} recorded -> {target}", err=True)
    else:
        click.echo(f"{old - len(new)} edit(s) undone, {len(new)} recorded -> {target}", err=True)


def _record_text(record: dict) -> str:
    from posetrack.tracksfile.edit import Operation, describe

    import msgspec

    return describe(msgspec.convert(record, Operation))


def _print_hints(tracks, tracks_file: Path, out: Optional[Path]) -> None:
    from posetrack.review.hints import find_hints
    from posetrack.tracksfile.edit import describe

    hints = find_hints(tracks)
    source = out or tracks_file
    for h in hints:
        click.echo(f"frame {h.frame:>6}  {h.kind:<6} {h.text}")
        if h.suggestion is not None:
            click.echo(f"              fix: posetrack edit {source} -o FIXED.json {describe(h.suggestion)}")
    click.echo(f"{len(hints)} hint(s); `posetrack review VIDEO {source}` shows each on its frame", err=True)
