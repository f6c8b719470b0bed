"""One error family: everything posetrack raises for its user derives from :class:`PosetrackError`.

The command line turns exactly this family (plus ``OSError``: missing files, full disks,
permissions) into one red line; any other exception is a bug and is shown as one, with
a hint to rerun with ``--debug`` for the traceback. Messages name the file, frame and
field (or the setting) at fault, never a command-line flag: the library does not know
how it was called.

Each class also derives from the builtin that callers used to catch (``ValueError`` for
bad input, ``RuntimeError`` for an environment that cannot do the job), so existing
``except ValueError`` code keeps working.

Example:
    >>> from posetrack.errors import PosetrackError, InputError
    >>> try:
    ...     raise InputError("tracks.json: frame 3, person 0, bbox: expected 4 numbers, got 1")
    ... except PosetrackError as e:
    ...     print(e)
    tracks.json: frame 3, person 0, bbox: expected 4 numbers, got 1
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

__all__ = ["PosetrackError", "InputError", "ConfigError", "FormatError", "SourceError", "ResumeError",
           "OutputExistsError", "PathConflictError", "MismatchError", "WeightsError", "MissingWeightsError",
           "DeviceError", "EncoderError", "MissingDependencyError"]


class PosetrackError(Exception):
    """Base class of every error meant for posetrack's user.

    Args:
        message: one line naming the file, frame or setting at fault.
        field: the setting the error is about (``stride``, ``pose_weights``, ``out``), set where
            it is raised, so that a front end can name its own spelling of it (the command line
            maps settings to flags) without reading the message.
        fields: more settings the error names: the two sides of a conflict, or the settings
            that would work instead, each as ``name`` or ``name=value`` (``codec=mpeg4``).

    Attributes:
        fields: every setting named, ``field`` first; empty when the error is about none.
        field: the first of ``fields``, or None.
    """

    def __init__(self, *args, field: Optional[str] = None, fields: Sequence[str] = ()):
        super().__init__(*args)
        self.fields: Tuple[str, ...] = ((field,) if field else ()) + tuple(fields)

    @property
    def field(self) -> Optional[str]:
        return self.fields[0] if self.fields else None

    @field.setter
    def field(self, value: Optional[str]) -> None:
        self.fields = ((value,) if value else ()) + self.fields[1:]


class InputError(PosetrackError, ValueError):
    """Bad input: a value, file or argument that cannot be used as given."""


class ConfigError(InputError):
    """A configuration value, name or file is wrong; the message names the file and setting."""


class FormatError(InputError):
    """A data file (tracks, boxes, PoseTrack annotations) breaks its schema; names file, frame, field."""


class SourceError(InputError):
    """A video, image folder or stream cannot be opened or read."""


class ResumeError(InputError):
    """An interrupted run cannot be continued (nothing to resume, or another video's output)."""


class OutputExistsError(InputError):
    """An output file exists, and the call asked neither to resume it nor to overwrite it.

    Attributes:
        path: the existing file.
        resumable: True when it is an interrupted run's output that can be resumed.
        field: the setting that names the output (``tracks``, ``render``, ``json``, ...), or None.
    """

    def __init__(self, message: str, path=None, resumable: bool = False, field: Optional[str] = None):
        super().__init__(message, field=field)
        self.path = path
        self.resumable = resumable


class PathConflictError(InputError):
    """An output would land on an input, inside an input folder, or on another output's path.

    No flag overrides it: writing would destroy a file the call reads or writes.

    Attributes:
        path: the path both would use.
        fields: the two settings at fault (the output first), e.g. ``("posetrack2017", "poses")``.
    """

    def __init__(self, message: str, path=None, fields: Sequence[str] = ()):
        super().__init__(message, fields=fields)
        self.path = path


class WeightsError(PosetrackError, RuntimeError):
    """Model weights cannot be found, downloaded, verified or loaded."""


class MissingWeightsError(WeightsError):
    """Weight files are needed that are neither cached nor downloadable.

    Attributes:
        missing: one ``(what, url, destination, sha256 or None)`` tuple per missing file.
    """

    def __init__(self, message: str, missing: tuple = ()):
        super().__init__(message, fields=tuple(dict.fromkeys(m[0] for m in missing)))
        self.missing = tuple(missing)


class MismatchError(InputError):
    """Tracks drawn onto a video they were not made from (another frame size or frame count).

    Attributes:
        problems: one readable line per difference (``size: the video is 640x480, ...``).
    """

    def __init__(self, message: str, problems: Sequence[str] = (), field: Optional[str] = None):
        super().__init__(message, field=field)
        self.problems = tuple(problems)


class DeviceError(PosetrackError, RuntimeError):
    """The requested compute device (``cuda:1``, ``mps``) is not available here."""


class EncoderError(PosetrackError, RuntimeError):
    """A video encoder is missing or failed."""


class MissingDependencyError(PosetrackError, RuntimeError):
    """An optional package the job needs is not installed; the message ends with the command that installs it.

    ``MissingDependencyError("plots need matplotlib", "plot", field="plot")`` reads
    ``plots need matplotlib: pip install "posetrack[plot]"``.

    Args:
        needs: what needs which package, as the message starts (``"plots need matplotlib"``).
        extra: the posetrack extra that installs it (setup.cfg's ``[options.extras_require]``; several
            as pip spells them, ``train,tensorboard``), or None where none does (then ``install``).
        install: the command to run, where it is not ``pip install "posetrack[extra]"``.
        field: the setting that asked for the package (``plot``, ``out``), or None.

    Attributes:
        needs, extra: as given.
        install: the command the message ends with.
    """

    def __init__(self, needs: str, extra: Optional[str] = None, *, install: Optional[str] = None,
                 field: Optional[str] = None):
        self.needs = needs
        self.extra = extra
        self.install = install or (f'pip install "posetrack[{extra}]"' if extra else None)
        super().__init__(f"{needs}: {self.install}" if self.install else needs, field=field)

    def __reduce__(self):
        # Worker processes (multiprocessing, Ray) send errors back pickled; the default would pass the
        # whole message back in as ``needs`` and append the command twice.
        return _missing_dependency, (type(self), self.needs, self.extra, self.install, self.field)


def _missing_dependency(cls, needs, extra, install, field) -> MissingDependencyError:
    return cls(needs, extra, install=install, field=field)
