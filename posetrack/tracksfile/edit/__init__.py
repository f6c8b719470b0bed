"""Fixing track ids by hand: swap, merge, split, delete and relabel, each recorded in the file.

No tracker is perfect on real footage; these five operations fix what it got wrong. Each is a
frozen :class:`msgspec.Struct` (one schema writes and reads the records), applied by pure functions
on a :class:`~posetrack.tracksfile.codec.TrackFile`, never in place. Every applied operation is
appended to ``settings["edits"]`` as a record: the verb, its arguments, the UTC time it was applied
and, where the operation loses information (``merge``, ``delete``), what :func:`undo` needs to put it
back. ``posetrack edit`` and the review page (``posetrack review``) both call :func:`apply`.

=======  =================================  ==============================================================
verb     arguments                          effect
=======  =================================  ==============================================================
swap     ``a``, ``b``, ``from``             ids ``a`` and ``b`` trade places in frames >= ``from``
merge    ``a``, ``b``                       ``b`` becomes ``a``; refused where both have a pose in a frame
split    ``a``, ``at``, ``new``             ``a``'s poses in frames >= ``at`` get the id ``new``
delete   ``a``, ``frames`` (optional)       ``a``'s poses removed (only in ``frames[0] <= f < frames[1]``)
relabel  ``a``, ``new``                     ``a`` becomes ``new``, an id not in the file
=======  =================================  ==============================================================

Frames are the file's frame indices (``frame`` in the tracks file); frame ranges end before their
second number, as ``--end`` and Python slices do.

Example:
    >>> import posetrack
    >>> from posetrack import edit
    >>> tracks = posetrack.read_tracks("tracks.json")
    >>> fixed = edit.apply(tracks, [edit.Swap(3, 5, start=120), edit.Merge(3, 8), edit.Delete(9, (10, 20))])
    >>> posetrack.write_tracks("fixed.json", fixed)       # settings["edits"] holds the three records
    >>> edit.undo(fixed, 3)                               # the original tracks, exactly

The modules, one job each (this package exports everything a caller needs):

* :mod:`.schema`: the operations and their records (``settings["edits"]``), read and written by one
  msgspec schema; :func:`describe`, :func:`edit_time`, :func:`recorded`;
* :mod:`.people`: every person of a file as flat arrays, the checks the operations share, and the
  frames rebuilt from the arrays;
* :mod:`.operations`: each operation on the flat arrays (and the inverses :func:`undo` needs);
* :mod:`.applying`: :func:`apply`, :func:`preview` and one function per verb;
* :mod:`.history`: :func:`undo` and :func:`replay`.
"""
from posetrack.tracksfile.edit.applying import (Preview, apply, apply_timed, delete, merge, preview, relabel, split,
                                                swap, track_ids)
from posetrack.tracksfile.edit.history import replay, undo
from posetrack.tracksfile.edit.schema import (EDITS_KEY, Delete, EditError, Merge, Operation, Relabel, Split, Swap,
                                              describe, edit_time, recorded)

__all__ = ["Swap", "Merge", "Split", "Delete", "Relabel", "Operation", "EditError", "EDITS_KEY", "apply", "apply_timed",
           "preview", "Preview",
           "swap", "merge", "split", "delete", "relabel", "undo", "replay", "recorded", "describe",
           "edit_time", "track_ids"]
