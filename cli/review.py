"""`posetrack review`: the tracks drawn on the video in a local browser page, where ids are fixed by clicking."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, OutputFile

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack review video.mp4 tracks.json                 # opens the page; Save rewrites tracks.json
  posetrack review video.mp4 tracks.json --out fixed.json   # Save writes fixed.json instead
  posetrack review frames/ tracks.json --no-browser --port 8765   # on a remote machine, then locally:
      ssh -N -L 8765:127.0.0.1:8765 user@remote   # and open the printed URL

\b
On the page: click a person or a timeline lane to select A (Shift+click: B); Space plays,
Left/Right step (Shift: 10 frames), G jumps to a frame, F zooms on A and B (so does the
wheel); S swaps A and B from this frame, M merges B into A, X splits A here, Del deletes A
(within the range set with I and O), R relabels A; Ctrl+Z / Ctrl+Shift+Z undo and redo;
N / P go through the hints; Ctrl+S saves.
Save writes what `posetrack edit` writes for the same operations (recorded in settings.edits,
so `posetrack edit --undo` takes them back).

\b
The server listens on 127.0.0.1 only and answers only requests carrying the token of the
printed URL; it serves nothing but this video's frames and this tracks file. Ctrl-C stops it
(and prints the `posetrack edit` line of any edits the page did not save).
"""


@click.command("review", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("video", type=click.Path(exists=True, path_type=Path))
@click.argument("tracks_file", metavar="TRACKS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=OutputFile(), default=None,
              help="Save to this file, leaving TRACKS untouched.  [default: save over TRACKS, atomically]")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0,
              help="Port on 127.0.0.1 (0: a free one). A fixed port suits an SSH tunnel.")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option("--suggest/--no-suggest", default=True, help="Also print the hints (likely mistakes) here.")
@click.option("--force", is_flag=True, help="Let --out overwrite an existing file.")
def review(video: Path, tracks_file: Path, out: Optional[Path], port: int, no_browser: bool, suggest: bool,
           force: bool) -> None:
    """Review TRACKS on VIDEO in the browser: skeletons, ids, a timeline of tracks, and the edits of
    `posetrack edit` as buttons and keys.

    VIDEO is anything `posetrack run` reads from disk (a video file or a folder of images);
    frames are decoded by posetrack and sent to the page as JPEGs.
    """
    from posetrack.io.guard import check_writes
    from posetrack.review.frames import JpegFrames
    from posetrack.review.server import ReviewServer
    from posetrack.review.session import ReviewSession

    if out is not None:
        check_writes({"out": out}, {"video": video, "tracks": tracks_file}, force=force)
    frames = JpegFrames(video)
    session = ReviewSession(tracks_file, out, frames.info)
    for warning in session.meta()["warnings"]:
        log.warning("video and tracks differ: %s", warning)
    if suggest:
        _print_hints(session, video, tracks_file)
    server = ReviewServer(session, frames, port=port)
    click.echo(f"review page: {server.url}", err=True)
    click.echo(f"Save writes {session.target}; Ctrl-C stops the server.", err=True)
    if not no_browser:
        import webbrowser

        if not webbrowser.open(server.url):
            click.echo("no browser found: open the URL above", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:           # the way to stop the server: not an error
        _report_unsaved(session)
        click.echo("review server stopped", err=True)
    finally:
        server.server_close()
        frames.close()


def _report_unsaved(session) -> None:
    """Ctrl-C with edits the page did not save: print the `posetrack edit` line that applies them."""
    from posetrack.tracksfile.edit import describe

    ops = session.unsaved()
    if ops:
        line = " ".join(describe(op) for op in ops)
        click.secho(f"the page had {len(ops)} unsaved edit(s); to apply them:\n  posetrack edit "
                    f"{session.tracks_path} -o FIXED.json {line}", fg="yellow", err=True)


def _print_hints(session, video: Path, tracks_file: Path) -> None:
    from posetrack.review.hints import find_hints

    hints = find_hints(session.tracks)
    for h in hints:
        click.echo(f"  frame {h.frame:>6}  {h.kind:<6} {h.text}", err=True)
    if hints:
        click.echo(f"{len(hints)} hint(s): the page lists them (N / P step through them)", err=True)
