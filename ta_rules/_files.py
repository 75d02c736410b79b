"""Every file ta-rules reads or writes goes through here.

Reading (:func:`read_guarded`): a regular file only (a FIFO is opened without waiting for a
writer, and a device, a FIFO or a folder is refused without reading it), inside its folder
when the file was found in one (a link out of it is refused, so an outside file's content is
never shown), and read bounded (at most ``max_bytes + 1`` bytes are ever read). Rule files,
vocabulary files, property files, scenario files, message catalogs and project
configurations all use it.

Writing (:func:`write_output`): an output file is never one of the command's inputs (a
history, a rule file, a facts file: :func:`refuse_inputs`), and is written through a partial
file beside it that is renamed over the target once whole, so an interrupted write never
leaves a truncated file where a good one was.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import TaRulesError

__all__ = ["FileRefused", "OutputRefused", "inside", "read_guarded", "refuse_inputs",
           "write_output"]

#: The codes of :class:`FileRefused`.
CODES: Final = (dc.FILE_MISSING, dc.FILE_UNREADABLE, dc.FILE_NOT_REGULAR, dc.FILE_OUTSIDE_FOLDER,
                dc.FILE_TOO_LARGE)


class FileRefused(TaRulesError):
    """A file that is not read: missing, unreadable, special, outside its folder, too large.

    Attributes:
        path: The file as named.
        code: One of :data:`CODES`.
        reason: What is wrong, without the path.
    """

    def __init__(self, path: str, code: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.code = code
        self.reason = reason


class OutputRefused(TaRulesError):
    """An output that is not written: it is an input of the command, or cannot be written."""


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path``, links followed, is inside ``folder`` (links followed too)."""
    real, base = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([real, base]) == base
    except ValueError:  # different drives
        return False


def read_guarded(path: str | os.PathLike[str], *, max_bytes: int,
                 folder: str | os.PathLike[str] | None = None, what: str = "file",
                 head: bool = False, streams: bool = False) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes (inside ``folder``).

    Args:
        path: The file.
        max_bytes: Most bytes accepted; at most one more is read.
        folder: The folder it was found in: a link out of it is refused unread.
        what: What the file is, for the messages (``rule file``, ``catalog``...).
        head: Give the first ``max_bytes`` bytes of a longer file instead of refusing it.
        streams: Also read a FIFO or a device (a facts document named as ``<(command)``),
            waiting for its writer; still bounded. A folder is always refused.

    Raises:
        FileRefused: With the code ``file.missing``, ``file.unreadable``,
            ``file.not-regular``, ``file.outside-folder`` or ``file.too-large``.
    """
    name = os.fspath(path)
    if folder is not None and not inside(name, folder):
        raise FileRefused(name, dc.FILE_OUTSIDE_FOLDER,
                          f"a link to a file outside the folder {os.fspath(folder)}; it is "
                          "not read")
    try:
        fd = os.open(name, os.O_RDONLY | (0 if streams else getattr(os, "O_NONBLOCK", 0)))
    except FileNotFoundError:
        raise FileRefused(name, dc.FILE_MISSING, "no such file") from None
    except OSError as exc:
        raise FileRefused(name, dc.FILE_UNREADABLE,
                          f"cannot read the {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) and (not streams or stat.S_ISDIR(mode)):
            raise FileRefused(name, dc.FILE_NOT_REGULAR,
                              f"not a regular file (a device, a FIFO or a folder); a {what} "
                              "is a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileRefused(name, dc.FILE_UNREADABLE,
                          f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes and head:
        return data[:max_bytes]
    if len(data) > max_bytes:
        raise FileRefused(name, dc.FILE_TOO_LARGE,
                          f"the {what} is over {max_bytes} bytes; at most {max_bytes} bytes "
                          "are read")
    return data


def _same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def partial_path(out: str | os.PathLike[str]) -> Path:
    """The partial file of an output file: ``.NAME.partial`` beside it."""
    path = Path(out)
    return path.with_name(f".{path.name}.partial")


def refuse_inputs(out: str | os.PathLike[str],
                  inputs: Iterable[str | os.PathLike[str] | None], *,
                  option: str = "--out") -> None:
    """Refuse an output that is one of the inputs (or a file inside an input folder).

    ``-`` and None inputs (stdin, not given) are skipped. The partial file of ``out`` is
    checked too: writing it would destroy the input just as well.

    Raises:
        OutputRefused: Saying which input it is.
    """
    name = os.fspath(out)
    targets = (name, partial_path(name))
    for item in inputs:
        if item is None or os.fspath(item) == "-":
            continue
        source = os.fspath(item)
        if os.path.isdir(source):  # a folder of rules: its files, and any new rule file
            hit = any(inside(t, source) and (os.path.exists(t) or Path(t).suffix in (
                ".yaml", ".yml")) for t in targets)
        else:
            hit = any(_same(source, t) for t in targets)
        if hit:
            what = "a file of the input folder" if os.path.isdir(source) else "the input file"
            raise OutputRefused(f"{name}: is {what} {source}; writing the results there "
                                f"would destroy it: choose another {option}")


def write_output(out: str | os.PathLike[str], data: str | bytes, *,
                 inputs: Iterable[str | os.PathLike[str] | None] = (),
                 option: str = "--out") -> None:
    """Write a command's output file whole, never over one of its ``inputs``.

    The bytes go to a partial file beside ``out``, are flushed to disk, and the partial
    file is renamed over ``out``: whatever happens, ``out`` holds its old content or the
    new one, never a part. An ``out`` that exists and is not a regular file (``/dev/null``,
    a FIFO, a terminal) is written directly.

    Raises:
        OutputRefused: ``out`` is an input, or cannot be written.
    """
    name = os.fspath(out)
    refuse_inputs(name, inputs, option=option)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        special = not stat.S_ISREG(os.stat(name).st_mode)
    except OSError:
        special = False
    try:
        if special:
            with open(name, "wb") as fh:
                fh.write(payload)
            return
        partial = partial_path(name)
        try:
            with open(partial, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, name)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
    except OSError as exc:
        raise OutputRefused(f"{name}: cannot write: {exc.strerror or exc}") from None
