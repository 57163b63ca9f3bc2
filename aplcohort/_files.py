"""Reading the small text files a user names: plans, scenarios, mappings, REDCap dictionaries.

These are a few KB; a path that is a folder, a device (``/dev/zero``), a named pipe or a
file of many MiB is refused before anything is read, with a message naming the file
(read whole, ``/dev/zero`` would take the machine's memory and a FIFO would hang).
The data tables themselves are read by :mod:`aplcohort.cohort.io`, which checks for a
regular file but sets no size limit.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import InputError

#: Largest plan, scenario, mapping or REDCap dictionary read (bytes); the bundled ones
#: are under 100 KB.
MAX_TEXT_FILE_BYTES = 10 * 2**20


def check_regular_file(path, what: str, error=InputError, max_bytes: int | None = None):
    """Refuse a ``path`` that is missing, a folder, not a regular file or (with
    ``max_bytes``) larger than ``max_bytes``; ``what`` names the file in the message
    ("plan file"), ``error`` is the exception class raised. Returns the size in bytes."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{what} not found: {p}") from None
    except OSError as exc:
        raise error(f"{what} {p} cannot be read ({(exc.strerror or str(exc)).lower()})") from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise error(f"{what} {p} is a folder, not a file; give the file itself")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "not a regular file")
        raise error(f"{what} {p} is {kind}, not a regular file; give a file saved on disk")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{what} {p} is {_mib(st.st_size)}, more than the {_mib(max_bytes)} such a "
                    "file can be; is it the right file?")
    return st.st_size


def read_text_file(path, what: str, error=InputError,
                   max_bytes: int = MAX_TEXT_FILE_BYTES) -> str:
    """The text of a small UTF-8 (or UTF-16 with byte-order mark) file, after
    :func:`check_regular_file`; a file that is not such text is an ``error`` naming it."""
    check_regular_file(path, what, error, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{what} {path} cannot be read ({(exc.strerror or str(exc)).lower()})") \
            from None
    if len(data) > max_bytes:  # grew while read, or a file that reports no size
        raise error(f"{what} {path} is more than the {_mib(max_bytes)} such a file can be; "
                    "is it the right file?")
    enc = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                    f"position {exc.start}); save it as UTF-8 text, not as a binary or "
                    "word-processor document") from None


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"
