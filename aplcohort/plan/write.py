"""Write a plan run's outputs: results.json, provenance.json, tables/, figures/, report.html.

Outputs are confined and atomic (see ``docs/security.md``):

* every file name built from a plan (analysis ids, table and figure names) must
  be an identifier -- letters, digits, ``_`` and ``-``, at most 64 characters
  (:func:`validate_output_name`; names built from data values or long ids are made
  into one by :func:`safe_output_names`) -- and every path is resolved and checked to lie
  inside the output folder (:func:`resolve_inside`), so ``id: "../../x"`` or an
  absolute path can never write elsewhere, even if the plan validator missed it;
* a run writes into a fresh temporary folder beside ``--out`` and renames it into
  place only when everything was written (:func:`output_transaction`); an
  interrupted or failed run leaves the previous outputs untouched;
* a lock file beside ``--out`` stops a second concurrent run with a clear message
  (:class:`OutputLock`);
* an existing ``--out`` that aplcohort did not write (no marker file
  ``.aplcohort-output``) is refused unless ``force=True``. The marker lists every
  file the run wrote with its SHA-256 (the manifest, written inside the atomic
  commit); a folder that holds exactly what the last run wrote, unchanged, is
  replaced whole, so no stale file of an earlier run survives. A folder holding a
  file the last run did not write (a user's notes) or a file changed since (an
  edited table) is refused unless ``force=True``, naming those files; so is a
  folder whose marker has no manifest (written by an older aplcohort), because
  what is safe to delete cannot be told.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path

import pandas as pd

from ..errors import InputError, PlanError
from .null_reasons import explain_frame, explain_nulls, frame_reasons
from .report import build_report

#: Marker file aplcohort writes in every output folder it creates.
MARKER = ".aplcohort-output"
#: Longest file-name component built from a plan (an analysis id, a table or figure name).
MAX_NAME = 64
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
#: Names Windows reserves for devices, in any case and with any extension (``con``,
#: ``NUL.txt``): a file so named cannot be made or is the device itself.
_RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$",
                       *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})


def _reserved(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").lower() in _RESERVED

__all__ = ["MARKER", "OutputError", "OutputLock", "check_output_dir", "output_transaction",
           "input_paths",
           "resolve_inside", "validate_output_name", "safe_output_names", "write_outputs",
           "journal_table_from_frame", "atomic_write_bytes", "user_changes"]


class OutputError(InputError):
    """An output folder or file name cannot be used (the CLI exits with status 2)."""


def validate_output_name(name, what: str = "analysis id") -> str:
    """Check that ``name`` can be used as a file name inside the output folder.

    Allowed: ASCII letters, digits, ``_`` and ``-``; 1 to 64 characters. No
    slashes, dots, spaces or absolute paths, so a name can never leave ``--out``. The
    device names Windows reserves (``con``, ``nul``, ``com1``, ``lpt1``, ... in any case)
    are refused too. Names that differ only in case are one file on macOS and Windows:
    the plan validator and :func:`write_outputs` refuse such analysis ids, and
    :func:`safe_output_names` keeps derived names apart case-insensitively.

    Parameters
    ----------
    name : str
    what : str
        What the name is (used in the message), e.g. ``"analysis id"``.

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    OutputError

    Examples
    --------
    >>> validate_output_name("os_by_consolidation")
    'os_by_consolidation'
    >>> validate_output_name("../../x")
    Traceback (most recent call last):
    ...
    aplcohort.plan.write.OutputError: analysis id '../../x' cannot be used as a file name: ...
    """
    if not isinstance(name, str):
        raise OutputError(f"{what} {name!r} must be text (letters, digits, '_' and '-'), "
                          f"not {type(name).__name__}")
    shown = name if len(name) <= 80 else name[:60] + f"... ({len(name)} characters)"
    if not name:
        raise OutputError(f"{what} is empty; use letters, digits, '_' and '-'")
    if len(name) > MAX_NAME:
        raise OutputError(f"{what} {shown!r} is {len(name)} characters long; at most {MAX_NAME} "
                          "are allowed (it becomes a file name)")
    if not _NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
        raise OutputError(f"{what} {shown!r} cannot be used as a file name: only letters A-Z "
                          f"a-z, digits, '_' and '-' are allowed (found {''.join(bad)!r}); "
                          "e.g. 'os_by_consolidation'")
    if _reserved(name):
        raise OutputError(f"{what} {shown!r} cannot be used as a file name: Windows reserves "
                          "it for a device (CON, PRN, AUX, NUL, COM0-9, LPT0-9, in any case); "
                          f"e.g. '{name}_1'")
    return name


def safe_output_names(names) -> list:
    """File-safe, unique names for ``names`` (table and figure names an analysis builds from
    its id and data values, e.g. a group level "auto HSCT"), the same on every run.

    A name that passes :func:`validate_output_name` is kept, unless an earlier kept name
    differs from it only in case (one file on macOS and Windows). In any other, each run
    of characters other than letters, digits, ``_`` and ``-`` becomes ``_``; a name longer
    than ``MAX_NAME`` is cut and ends with 8 hexadecimal digits of a digest of the whole
    name; a device name Windows reserves (``con``, ``nul``, ...) gets ``_``; a changed
    name that equals another name, ignoring case, gets its position in ``names`` (``_2``
    for the second).

    Examples
    --------
    >>> safe_output_names(["km", "clfs_auto HSCT", "clfs_auto_HSCT", "zph_dose2.5"])
    ['km', 'clfs_auto_HSCT_2', 'clfs_auto_HSCT', 'zph_dose2_5']
    >>> safe_output_names(["KM__medians", "km__medians", "nul"])
    ['KM__medians', 'km__medians_2', 'nul_']
    """
    names = [str(n) for n in names]

    def fit(s, tail=""):
        return s if len(s) + len(tail) <= MAX_NAME else s[:MAX_NAME - len(tail)]

    out = []
    for n in names:
        if _NAME_RE.fullmatch(n) and len(n) <= MAX_NAME and not _reserved(n):
            out.append(n)
            continue
        s = re.sub(r"[^A-Za-z0-9_-]+", "_", n).strip("_") or "item"
        if len(s) > MAX_NAME:
            tail = "_" + hashlib.sha256(n.encode("utf-8")).hexdigest()[:8]
            s = fit(s, tail) + tail
        if _reserved(s):
            s = fit(s, "_") + "_"
        out.append(s)
    # kept names first (the first of names equal but for case), then the others in order
    taken: set = set()
    final = [False] * len(names)
    for i, (n, s) in enumerate(zip(names, out)):
        if n == s and s.lower() not in taken:
            taken.add(s.lower())
            final[i] = True
    for i, s in enumerate(out):
        if final[i]:
            continue
        if s.lower() in taken:
            k = i + 1
            while True:
                tail = f"_{k}"
                cand = fit(s, tail) + tail
                if cand.lower() not in taken:
                    break
                k += len(names)
            out[i] = s = cand
        taken.add(s.lower())
    return out


def resolve_inside(root, *parts: str, suffix: str = "") -> Path:
    """``root/part1/part2...<suffix>``, after checking that it stays inside ``root``.

    Every part must pass :func:`validate_output_name`; the resolved path (symbolic
    links followed) must lie inside the resolved ``root``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> resolve_inside(d, "tables", "t1", suffix=".csv").name
    't1.csv'
    """
    root_r = Path(root).resolve()
    p = root_r
    for part in parts:
        p = p / validate_output_name(part, "output name")
    if suffix:
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            raise OutputError(f"file extension {suffix!r} is not allowed")
        p = p.with_name(p.name + suffix)
    real = p.resolve()
    if real != root_r and root_r not in real.parents:
        raise OutputError(f"{p} would be written outside the output folder {root_r}")
    return real


# ----------------------------------------------------------------------------- lock
_HELD: dict[str, list] = {}

#: Longest file name most file systems allow (bytes of one path component).
_NAME_MAX = 255
#: The longest tail added to ``.<out name>`` for the files beside ``--out``.
_SIDE_TAIL = len(".aplcohort-tmp-") + 12


def _side_stem(out: Path) -> str:
    """``.<name of out>``: the start of the names of the lock file and of the temporary
    folders beside ``out``. A name too long for the file system once the longest tail is
    added (a legal 240-character ``--out``) is cut and ends with 12 hexadecimal digits of
    a digest of the whole name, so every run into ``out`` finds the same names.

    Examples
    --------
    >>> _side_stem(Path("/x/res"))
    '.res'
    >>> s = _side_stem(Path("/x/" + "o" * 240)); len(s.encode()) + _SIDE_TAIL <= 255, s[-13:-12]
    (True, '~')
    """
    stem = "." + out.name
    if len(stem.encode("utf-8", "surrogateescape")) + _SIDE_TAIL <= _NAME_MAX:
        return stem
    digest = hashlib.sha256(out.name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    room = _NAME_MAX - _SIDE_TAIL - 1 - 13
    cut = out.name
    while len(cut.encode("utf-8", "surrogateescape")) > room:
        cut = cut[:-1]
    return f".{cut}~{digest}"


def _lock_path(out: Path) -> Path:
    return out.parent / f"{_side_stem(out)}.aplcohort.lock"


def _looks_like_lock(fd: int) -> bool:
    """The open file is one an aplcohort run made as its lock file: a regular file with
    one name, holding nothing or a process number (a run killed outright leaves it)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > 20:
        return False
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 32)
    return data.strip() == b"" or data.strip().isdigit()


class OutputLock:
    """Exclusive lock on an output folder (a lock file beside it), for one process.

    Re-entrant within a process. Uses ``fcntl.flock`` (POSIX) or ``msvcrt.locking``
    (Windows), so a crashed run never leaves a stale lock: the operating system
    releases it when the process ends.

    The lock file is created new (``O_CREAT | O_EXCL``, never through a symbolic link)
    and holds the process number; it is removed when the lock is released, and only if
    it is still the file this run created. A symbolic link or anything but a regular
    file at its place is refused (a link planted there must not let a run truncate the
    file it points to); so is a regular file that is not an aplcohort lock file (a
    second name of another file, or one holding other text): it is never written to
    or removed. The lock file of a run killed outright (a regular file holding only a
    process number, or nothing) is replaced.

    Raises
    ------
    OutputError
        If another process holds the lock, or the lock file's place holds something
        that is not an aplcohort lock file.
    """

    def __init__(self, out):
        self.out = Path(out).absolute()
        self.path = _lock_path(self.out)
        self._key = str(self.path)

    def _refuse(self, what: str):
        raise OutputError(
            f"the lock file {self.path} beside --out {self.out} {what}; it was left "
            "untouched and nothing was written. Remove it if it is not yours, or choose "
            "another --out")

    def _open(self):
        """``(fd, created)`` for the lock file, or None when it vanished meanwhile."""
        cloexec = getattr(os, "O_CLOEXEC", 0)
        nofollow = getattr(os, "O_NOFOLLOW", 0)
        try:  # O_EXCL: never an existing file, never through a symbolic link (even dangling)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | cloexec, 0o644), True
        except FileExistsError:
            pass
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            self._refuse("is a symbolic link")
        if not stat.S_ISREG(st.st_mode):
            self._refuse("is not a regular file")
        try:  # opened without O_CREAT or O_TRUNC: nothing in it is changed
            fd = os.open(self.path, os.O_RDWR | nofollow | cloexec | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            if nofollow and exc.errno == errno.ELOOP:
                self._refuse("is a symbolic link")
            raise
        try:
            ours = _looks_like_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if not ours:
            os.close(fd)
            self._refuse("is not an aplcohort lock file (another file, or a second name of "
                         "one)")
        return fd, False

    def _same_file(self, fd) -> bool:
        try:
            st, fst = os.lstat(self.path), os.fstat(fd)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)

    def __enter__(self):
        held = _HELD.get(self._key)
        if held is not None:
            held[1] += 1
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            opened = self._open()
            if opened is None:
                continue
            fd, created = opened
            try:
                _try_lock(fd)
            except BlockingIOError:
                holder = ""
                try:
                    os.lseek(fd, 0, os.SEEK_SET)
                    holder = os.read(fd, 64).decode("ascii", "replace").strip()
                except OSError:
                    pass
                os.close(fd)
                raise OutputError(
                    f"another aplcohort run is writing to {self.out} right now"
                    f"{f' (process {holder})' if holder.isdigit() else ''}; wait for it to "
                    f"finish or choose another --out (lock file {self.path})") from None
            except BaseException:
                os.close(fd)
                raise
            # The holder before us may have removed the file after we opened it: make
            # sure the lock we hold is on the file that is at the path now.
            if not self._same_file(fd):
                os.close(fd)
                continue
            if not created:
                # the lock file of a run killed outright (checked by _open): removed while
                # locked, then made new by this run (the next turn of the loop)
                try:
                    os.unlink(self.path)
                except OSError:  # (Windows: an open file cannot be removed) kept, unchanged
                    _HELD[self._key] = [fd, 1, False]
                    return self
                os.close(fd)
                continue
            os.write(fd, str(os.getpid()).encode("ascii"))  # a file this run created
            _HELD[self._key] = [fd, 1, True]
            return self
        raise OutputError(f"could not lock {self.path}; try again")

    def __exit__(self, *exc):
        held = _HELD[self._key]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self._key]
            # while still locked (see the inode check above); only the file this run made
            if held[2] and self._same_file(held[0]):
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            os.close(held[0])        # closing releases the lock
        return False


def _try_lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            raise BlockingIOError from None
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


# ----------------------------------------------------------------------------- folders
def _read_marker(d: Path, limit: int | None = None) -> bytes | None:
    """The bytes of ``d``'s marker file, or None: a marker is a regular file, never read
    through a symbolic link (a link planted there is no marker)."""
    try:
        fd = os.open(d / MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read() if limit is None else fh.read(limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _has_marker(d: Path) -> bool:
    data = _read_marker(d, 200)
    return data is not None and b"aplcohort" in data


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _scan(d: Path):
    """Everything under ``d`` without following symbolic links (the marker excluded).

    Returns ``(files, folders, empty, other)``: relative POSIX paths of regular files
    (``{path: absolute path}``), of folders, of the folders that hold nothing, and of
    anything else (symbolic links, devices).
    """
    files, folders, empty, other = {}, [], [], []
    stack = [("", str(d))]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            entries = list(it)
        if rel and not entries:
            empty.append(rel.rstrip("/"))
        for e in entries:
            r = rel + e.name
            if not rel and e.name == MARKER:
                continue
            if e.is_symlink():
                other.append(r)
            elif e.is_dir(follow_symlinks=False):
                folders.append(r)
                stack.append((r + "/", e.path))
            elif e.is_file(follow_symlinks=False):
                files[r] = e.path
            else:
                other.append(r)
    return files, folders, empty, other


def _manifest(d: Path) -> dict:
    """The manifest of a folder aplcohort has just written: ``{"files": {path: sha256},
    "folders": [path, ...]}`` (relative POSIX paths, sorted; the marker excluded)."""
    files, folders, _empty, _other = _scan(d)
    return {"files": {r: _sha256(files[r]) for r in sorted(files)}, "folders": sorted(folders)}


def _read_manifest(d: Path):
    """The manifest recorded in ``d``'s marker, or None (an older marker without one)."""
    data = _read_marker(d, 64 << 20)
    try:
        doc = json.loads(data.decode("utf-8")) if data is not None else None
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        return None
    files = doc["files"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    folders = doc.get("folders") if isinstance(doc.get("folders"), list) else []
    return {"files": files, "folders": {f for f in folders if isinstance(f, str)}}


def user_changes(out) -> list | None:
    """What in an aplcohort output folder the last run did not write, or changed since.

    Compares the folder with the manifest in its marker file. Returns a sorted list
    of ``"path (added)"`` / ``"path (changed)"`` entries (empty when the folder holds
    exactly what the run wrote, unchanged; files that were deleted since do not
    count: nothing of the user's would be lost), or None when the marker holds no
    manifest (an output folder of an older aplcohort version).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "res"
    >>> with output_transaction(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> user_changes(out)
    []
    >>> _ = (out / "notes.txt").write_text("mine")
    >>> _ = (out / "a.txt").write_text("edited")
    >>> user_changes(out)
    ['a.txt (changed)', 'notes.txt (added)']
    """
    out = Path(out)
    man = _read_manifest(out)
    if man is None:
        return None
    files, folders, empty, other = _scan(out)
    found = []
    for r, path in files.items():
        want = man["files"].get(r)
        if want is None:
            found.append(f"{r} (added)")
            continue
        try:
            same = _sha256(path) == want
        except OSError:
            same = False
        if not same:
            found.append(f"{r} (changed)")
    for r in other:
        found.append(f"{r} ({'changed' if r in man['files'] else 'added'})")
    for r in empty:  # a folder with something in it is named by what it holds
        if r not in man["folders"]:
            found.append(f"{r}/ (added)")
    return sorted(found)


def check_output_dir(out, *, force: bool = False, protect=()) -> Path:
    """Check that ``out`` may be (re)written; return it as an absolute path.

    Parameters
    ----------
    out : str or Path
    force : bool
        Replace an existing folder whole although aplcohort did not write it, or it
        holds files the last run did not write or that were changed since
        (:func:`user_changes`), or its marker lists no files (an older aplcohort).
        Without ``force`` these are refused, naming the files.
    protect : iterable of paths
        Files that must survive (the input data, mapping, plan): an ``out`` that
        contains one of them is refused even with ``force``.

    Raises
    ------
    OutputError
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder name (it is "
                          "created if missing)")
    real = out.resolve()
    _check_protected(out, protect)
    if out.is_dir():
        try:
            entries = [e.name for e in os.scandir(out)]
        except OSError as exc:
            raise OutputError(f"cannot read the output folder {out}: "
                              f"{exc.strerror or exc}") from None
        if entries and _has_marker(out) and not force:
            changes = user_changes(out)
            if changes is None:
                raise OutputError(
                    f"--out {out} was written by an older aplcohort version, whose {MARKER} "
                    "file does not list the files it wrote, so files you may have added or "
                    "edited there cannot be told apart from the outputs; nothing was written. "
                    "Choose a new folder, or pass --force (force=True in Python) to replace "
                    "this folder and everything in it")
            if changes:
                some = ", ".join(changes[:10]) + (f" and {len(changes) - 10} more"
                                                  if len(changes) > 10 else "")
                raise OutputError(
                    f"--out {out} holds files that the last aplcohort run into it did not "
                    f"write or that were changed since: {some}; nothing was written. Move them "
                    "out of the folder or choose a new folder, or pass --force (force=True in "
                    "Python) to replace this folder whole, deleting them")
        if entries and not _has_marker(out):
            if not force:
                some = ", ".join(sorted(entries)[:5]) + (" ..." if len(entries) > 5 else "")
                raise OutputError(
                    f"--out {out} already exists and was not written by aplcohort (no "
                    f"{MARKER} file; it holds {some}); nothing was written. Choose a new "
                    "folder, or pass --force (force=True in Python) to replace this folder and "
                    "everything in it")
            home = Path.home().resolve()
            cwd = Path.cwd().resolve()
            if real == Path(real.anchor) or real == home or real == cwd or real in cwd.parents:
                raise OutputError(f"refusing to replace {out} (the root, home or current "
                                  "folder) even with --force; give a dedicated output folder")
    return out


def _side_dirs(out: Path, kind: str) -> list:
    """The temporary folders beside ``out`` (``kind`` "tmp" or "old") that a run made:
    ``<side stem>.aplcohort-<kind>-<letters and digits>`` (the name of ``out`` taken
    literally, not as a pattern: ``res[1]``), in name order."""
    stem = _side_stem(out)
    form = re.compile(re.escape(f"{stem}.aplcohort-{kind}-") + r"[0-9A-Za-z]+")
    import glob
    return sorted(p for p in out.parent.glob(glob.escape(f"{stem}.aplcohort-{kind}-") + "*")
                  if form.fullmatch(p.name))


def _side_dir(out: Path, kind: str) -> Path:
    return out.parent / f"{_side_stem(out)}.aplcohort-{kind}-{secrets.token_hex(6)}"


def _cleanup_stale(out: Path) -> None:
    """Under the lock: undo a commit cut short and remove temporary folders of dead runs."""
    olds = _side_dirs(out, "old")
    if not os.path.lexists(out) and olds and stat.S_ISDIR(os.lstat(olds[-1]).st_mode):
        os.rename(olds[-1], out)  # killed between the two renames: put the old outputs back
        olds = olds[:-1]
    for d in olds + _side_dirs(out, "tmp"):
        _remove(d)


def _remove(d: Path) -> None:
    """Remove a folder of ours (or a symbolic link that stood for one, not its target)."""
    if d.is_symlink():
        d.unlink()
    else:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def output_transaction(out, *, force: bool = False, protect=(), kind: str = "run"):
    """Write a folder atomically: yields a fresh temporary folder beside ``out``.

    When the ``with`` block ends without error the marker file (with the manifest of
    the files written) is added and the folder replaces ``out`` (the previous one is
    removed whole; :func:`check_output_dir` is run again just before). On any error, or
    if the process is killed, ``out`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "res"
    >>> with output_transaction(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in out.iterdir())
    ['.aplcohort-output', 'a.txt']
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; give a folder name (it is "
                          "created if missing)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(out):
        _cleanup_stale(out)
        check_output_dir(out, force=force, protect=protect)
        tmp = _side_dir(out, "tmp")
        os.mkdir(tmp)
        try:
            yield tmp
            # the marker lists what this run wrote (the next run replaces the folder only
            # if it still holds exactly that); it is inside tmp, so committed with the rest
            (tmp / MARKER).write_text(json.dumps({"written_by": "aplcohort", "kind": kind,
                                                  **_manifest(tmp)}, indent=1)
                                      + "\n", encoding="utf-8")
            # again just before the commit: a file added while the run was working is kept
            check_output_dir(out, force=force, protect=protect)
            if out.exists():
                old = _side_dir(out, "old")
                os.rename(out, old)
                os.rename(tmp, out)
                _remove(old)
            else:
                os.rename(tmp, out)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            named = _outside_name(exc, tmp, out)
            if named is not None:
                raise named from None
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _outside_name(exc: OSError, tmp: Path, out: Path):
    """``exc`` naming the file where the user will look for it (``out/figures/km.png``)
    instead of the temporary folder that was removed; None when it names no such file."""
    name = exc.filename
    if not isinstance(name, (str, Path)):
        return None
    try:
        rel = Path(name).absolute().relative_to(tmp)
    except ValueError:
        return None
    return OSError(exc.errno, exc.strerror, str(out / rel))


@contextlib.contextmanager
def _naming(stem: Path, formats=()):
    """An operating-system error while writing ``<stem>.<fmt>`` (a full disk, a file-size
    limit) names the file: a failed ``write`` names none. The formats are written in
    order, so the failed one is the last whose file exists."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        paths = [stem.with_name(f"{stem.name}.{f}") for f in formats] or [stem]
        done = [p for p in paths if os.path.lexists(p)]
        raise OSError(exc.errno, exc.strerror, str((done or paths)[-1])) from None


def atomic_write_bytes(path, data: bytes, *, force: bool = False, protect=(),
                       what: str = "--out") -> Path:
    """Write one file atomically; refuse to overwrite an existing file unless ``force``.

    Used for single-file outputs (``synth scenario --out FILE.csv``, ``mapping
    from-redcap --out FILE.yaml``). The bytes go to a new temporary file beside
    ``path`` (created with ``O_EXCL``, never through a symbolic link), which then takes
    the name ``path``: a symbolic link at ``path`` is replaced, never written through
    (its target is untouched), and without ``force`` an existing name -- a dangling
    link too -- is never replaced. The parent folder is created if missing. A file in
    ``protect`` (the input the output is made from) is never replaced, even with
    ``force``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.csv"
    >>> atomic_write_bytes(p, b"x\\n").read_bytes()
    b'x\\n'
    >>> atomic_write_bytes(p, b"y\\n")
    Traceback (most recent call last):
    ...
    aplcohort.plan.write.OutputError: --out ... already exists; nothing was written. ...
    """
    path = Path(path).absolute()
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder; give a file name")
    _check_protected(path, protect, what)
    if os.path.lexists(path) and not force:
        link = " (a symbolic link)" if path.is_symlink() else ""
        raise OutputError(f"{what} {path}{link} already exists; nothing was written. Choose "
                          "a new file name, or pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(path):
        tmp = _side_dir(path, "tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o644)
            with os.fdopen(fd, "wb") as fh:
                try:
                    fh.write(data)
                    fh.flush()
                except OSError as exc:
                    if exc.filename is None:  # name the file the user asked for
                        raise OSError(exc.errno, exc.strerror, str(path)) from None
                    raise
            _check_protected(path, protect, what)
            if force:
                os.replace(tmp, path)
            else:
                _rename_new(tmp, path, what)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def _rename_new(tmp: Path, path: Path, what: str) -> None:
    """Give ``tmp`` the name ``path`` only if nothing has that name (atomically, with a
    hard link, where the file system has them)."""
    try:
        os.link(tmp, path)  # tmp: a regular file this run made
    except FileExistsError:
        raise OutputError(f"{what} {path} already exists (made while this run was "
                          "working); nothing was written") from None
    except OSError as exc:  # no hard links on this file system (FAT, some shares)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                             errno.EMLINK, errno.ENOSYS):
            raise
        if os.path.lexists(path):
            raise OutputError(f"{what} {path} already exists; nothing was written") from None
        os.replace(tmp, path)


def _check_protected(out: Path, protect, what: str = "--out") -> None:
    """Refuse an output path that is, or (a folder) contains, one of the input files."""
    real = Path(out).resolve()
    for p in protect or ():
        if p is None:
            continue
        try:
            pr = Path(p).resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if pr == real:
            raise OutputError(f"{what} {out} is the input file {p}; nothing was written. "
                              "Choose another name for the output")
        if real in pr.parents:
            raise OutputError(f"{what} {out} contains the input file {p}; the output folder "
                              "is replaced whole at every run, so choose a folder that holds "
                              "no input")


# ----------------------------------------------------------------------------- plan outputs
_FIG_FORMATS = ("png", "svg", "pdf", "tiff")
_TAB_FORMATS = ("csv", "html", "tex", "docx")


def _format_list(output: dict, key: str, allowed, default) -> tuple[str, ...]:
    v = output.get(key)
    if v is None:
        return tuple(default)
    if isinstance(v, str) or not isinstance(v, (list, tuple)):
        raise PlanError(f"output.{key} must be a list such as [{', '.join(default)}], "
                        f"not {v!r}")
    bad = [f for f in v if not isinstance(f, str) or f.lower() not in allowed]
    if bad:
        raise PlanError(f"output.{key}: {bad} not supported; choose from {list(allowed)}")
    return tuple(f.lower() for f in v)


def output_problems(plan: dict) -> list[str]:
    """Every problem of the plan's ``output`` section (figure formats, table formats, dpi),
    one sentence each; empty when :func:`output_options` accepts it. Plan validation
    lists them all at once."""
    output = plan.get("output")
    if output is None:
        output = {}
    if not isinstance(output, dict):
        return [f"output must be a mapping such as {{formats: [png, pdf], dpi: 300, "
                f"tables: [csv, docx]}}, not {output!r}"]
    problems = []
    for key, allowed, default in (("formats", _FIG_FORMATS, ("png", "pdf")),
                                  ("tables", _TAB_FORMATS, ("csv", "docx", "tex"))):
        try:
            _format_list(output, key, allowed, default)
        except PlanError as exc:
            problems.append(str(exc))
    dpi = output.get("dpi", 300)
    if isinstance(dpi, bool) or dpi not in (300, 600):
        problems.append(f"output.dpi must be 300 or 600, not {dpi!r}")
    return problems


def output_options(plan: dict) -> dict:
    """The plan's ``output`` section checked: figure formats, table formats, dpi.

    Raises
    ------
    PlanError
        ``output`` is not a mapping, a format list is a string (``formats: "png"``)
        or names an unknown format, or ``dpi`` is not 300 or 600 (every problem,
        :func:`output_problems`).
    """
    problems = output_problems(plan)
    if problems:
        raise PlanError("; ".join(problems))
    output = plan.get("output") or {}
    figs = _format_list(output, "formats", _FIG_FORMATS, ("png", "pdf"))
    if "png" not in figs:
        figs = ("png", *figs)  # the report embeds PNG
    tabs = _format_list(output, "tables", _TAB_FORMATS, ("csv", "docx", "tex"))
    return {"formats": figs, "tables": tabs, "dpi": int(output.get("dpi", 300))}


def journal_table_from_frame(df: pd.DataFrame, caption: str, *, labels=None, style=None,
                             group_column: str | None = None, reference_levels=None,
                             weighted: str | None = None, conf_level: float = 0.95):
    """Format a tidy result frame as a journal table.

    One formatter for every plan table: :func:`aplcohort.tables.frame.format_frame`
    (every p column through the style's p formatter, NR / NE with reasons, estimates
    with their CI as "x (y–z)", internal columns hidden, labels applied; ``weighted``
    names the weights of a weighted curve's counts; ``conf_level`` is the level printed
    in the interval headers, "Median (90% CI)").
    """
    from ..tables.frame import format_frame
    return format_frame(df, caption, labels=labels, style=style, group_column=group_column,
                        reference_levels=reference_levels, weighted=weighted,
                        conf_level=conf_level)


def frame_conf_level(tab: pd.DataFrame, a, plan_a: dict) -> float:
    """The level of the intervals of one result frame of analysis ``a``: the frame's own
    (``tab.attrs["conf_level"]``, set by a computation whose level is its own, e.g. the
    immortal-time comparison), else the analysis's ``conf_level`` (the plan's, else its
    result's), else 0.95 (the kinds without a ``conf_level`` key)."""
    for cl in (tab.attrs.get("conf_level"), plan_a.get("conf_level"),
               getattr(getattr(a, "result", None), "conf_level", None),
               (getattr(a, "summary", None) or {}).get("conf_level")):
        if isinstance(cl, (int, float)) and not isinstance(cl, bool) and 0 < cl < 1:
            return float(cl)
    return 0.95


def _table_of_frame(tab: pd.DataFrame, caption: str, name: str, a, plan_a: dict, labels, style):
    """The journal table of one result frame of analysis ``a`` (regression terms with
    reference rows; everything else through the frame formatter)."""
    from ..tables.regression import _refs, regression_table
    res = getattr(a, "result", None)
    refs = _refs(res) if res is not None else {}
    # a frame may name the reference levels of its own model (the hazard ratios beside
    # Kaplan–Meier curves come from a Cox model that is not the analysis's result)
    refs.update({str(k): v for k, v in (tab.attrs.get("reference_levels") or {}).items()})
    cols = set(map(str, tab.columns))
    from ..stats.shapes import TERM_COLUMNS
    unique = "term" in cols and tab["term"].is_unique
    # one model's terms only (a frame with extra columns, e.g. one row per transition and
    # term, goes through the frame formatter, which keeps every column)
    is_terms = unique and {"term", "estimate", "lower", "upper", "p", "estimable"} <= cols \
        and cols <= set(TERM_COLUMNS)
    is_um = unique and {"term", "hr_uni", "hr_multi"} <= cols
    # a frame may describe its own sample (the adjusted model of a propensity-score block
    # has its own patients, events and weights: not the analysis's main model's)
    att = tab.attrs
    if is_terms or is_um:
        ratio = "SHR" if a.kind == "finegray" else "HR"
        return regression_table(tab, labels=labels, style=style, reference_levels=refs,
                                ratio_label=ratio, title=caption,
                                n=att["n"] if "n" in att else getattr(res, "n", None),
                                events=att["events"] if "events" in att
                                else getattr(res, "events", None),
                                sample_note=att.get("sample_note"),
                                conf_level=frame_conf_level(tab, a, plan_a))
    group = att.get("group_column") or plan_a.get("group") or plan_a.get("exposure")
    return journal_table_from_frame(tab, caption, labels=labels, style=style,
                                    group_column=group if isinstance(group, str) else None,
                                    reference_levels=refs, weighted=att.get("weighted"),
                                    conf_level=frame_conf_level(tab, a, plan_a))


#: Names that keep their capital after "Title: " (a caption starting with a method's
#: author: "Gray's test", "Mantel–Byar test", "Kaplan–Meier ...").
_PROPER = {"gray", "mantel", "kaplan", "cox", "fine", "simon", "aalen", "nelson", "harrell",
           "schoenfeld", "wilcoxon", "fisher", "kruskal", "greenwood", "firth", "breslow",
           "efron", "peto", "gehan", "tarone", "fleming", "sanz"}


def _manuscript_caption(a, caption: str) -> str:
    # a caption that names its subject ("Overall survival: median") keeps it; "1:1
    # matching" is not such a name
    if caption == a.title or ": " in caption or not a.title:
        return caption
    first = re.split(r"[^A-Za-z]", caption, maxsplit=1)[0].lower()
    keep = first in _PROPER or not caption[:2].istitle()
    return f"{a.title}: {caption if keep else caption[:1].lower() + caption[1:]}"


def input_paths(*given) -> list:
    """The existing files among ``given`` (paths or names: a plan, scenario, data or
    mapping given by path; a bundled name such as ``min2022``, a data frame or None are
    skipped): the inputs an output must never replace (``protect=`` of
    :func:`check_output_dir` and :func:`atomic_write_bytes`).

    Examples
    --------
    >>> input_paths("min2022", None, 3)
    []
    """
    out = []
    for v in given:
        if isinstance(v, (list, tuple)):
            out.extend(input_paths(*v))
        elif isinstance(v, (str, Path)) and str(v):
            try:
                if Path(v).is_file():
                    out.append(Path(v))
            except (OSError, ValueError):
                continue
    return out


def _protected_inputs(res) -> list:
    """The input files of a run: data, mapping and the plan file itself."""
    src = getattr(getattr(res, "cohort", None), "source", None) or {}
    return input_paths(src.get("path"), src.get("mapping_path"),
                       getattr(res, "_plan_path", None))


def _empty_table(a, sec: dict, caption: str, tab) -> bool:
    """An analysis table without rows or columns is not written silently: a table with no
    columns (nothing to show: a 0-byte CSV, "(no columns)" in the report) is not written;
    one with columns but no rows is written (its header says what would be listed). Either
    way the report's notes and the analysis's ``empty_tables`` in results.json name it.
    Returns True when the table is not to be written."""
    frame = getattr(tab, "data", tab)
    if not isinstance(frame, pd.DataFrame) or (len(frame.columns) and len(frame)):
        return False
    skip = not len(frame.columns)
    what = "is empty: not written" if skip else "has no rows"
    sec["notes"].append(f"Table '{caption}' {what}.")
    a.summary.setdefault("empty_tables", []).append(caption)
    return skip


def write_outputs(res, out, *, force: bool = False, extra_dirs: dict | None = None,
                  protect=()) -> Path:
    """Write a run's outputs into ``out`` atomically (see the module docstring).

    Parameters
    ----------
    res : PlanResults
    out : str or Path
        Output folder; created if missing, replaced whole if it holds exactly what the
        last aplcohort run into it wrote (:func:`check_output_dir`).
    force : bool
        Replace an existing folder whole even if aplcohort did not write it or files
        in it were added or changed since.
    extra_dirs : dict, optional
        ``{name: folder}`` copied into ``out/name`` in the same transaction (the
        synthetic data of ``aplcohort replicate``).
    protect : iterable of paths
        Input files that must not be inside ``out`` (the data file, the mapping and
        the plan file are added automatically).

    Returns
    -------
    Path
        The output folder.
    """
    from ..tables.blanks import explain_blanks
    from ..tables.export import JournalTable, save_table, write_csv_frame
    from .provenance import for_results

    options = output_options(res.plan)
    from ..tables.manuscript import ManuscriptItem, write_manuscript
    from ..tables.style import plan_presentation
    labels, style = plan_presentation(res.plan)
    plan_of = {p.get("id"): p for p in res.plan.get("analyses") or [] if isinstance(p, dict)}
    # every name is checked before anything is written; the names an analysis builds (from
    # its id and data values such as group levels) are made file-safe, so that no name can
    # stop the run and take the other analyses with it (safe_output_names)
    lower: dict = {}
    for aid, a in res.analyses.items():
        validate_output_name(aid, "analysis id")
        if aid.lower() in lower:  # one file on macOS and Windows
            raise OutputError(f"analysis ids {lower[aid.lower()]!r} and {aid!r} differ only "
                              "in case: their files would be one file on macOS and Windows; "
                              "nothing was written. Give them ids that differ in letters")
        lower[aid.lower()] = aid
    keys = [(aid, k) for aid, a in res.analyses.items() for k in range(len(a.tables))]
    table_stem = dict(zip(keys, safe_output_names(
        aid if t[0] == aid else f"{aid}__{t[0]}" for aid, a in res.analyses.items()
        for t in a.tables)))
    fig_names = safe_output_names(name for a in res.analyses.values() for name, _ in a.figures)
    for a in res.analyses.values():
        a.figures = [(fig_names.pop(0), fig) for _name, fig in a.figures]
    for name in (extra_dirs or {}):
        validate_output_name(name, "output folder name")
    # identifying columns: checked again here, whatever the plan validator did
    from .identifiers import check_identifiers, recorded_identifiers, redact_dates
    problems = check_identifiers(res.plan, list(res.cohort.data.columns),
                                 identifying=recorded_identifiers(res.cohort.data))
    if problems:
        raise PlanError("identifying columns would be written to the outputs; nothing was "
                        "written.\n- " + "\n- ".join(problems))

    out = Path(out)
    with output_transaction(out, force=force, protect=[*_protected_inputs(res), *protect]) as tmp:
        tables_dir = resolve_inside(tmp, "tables")
        figures_dir = resolve_inside(tmp, "figures")
        tables_dir.mkdir()
        figures_dir.mkdir()
        sections = []
        items, tex_files, listings = [], [], []
        # every figure's file stem first, so a helper process can save figures while the
        # tables are written (see _FigureWriter)
        fig_jobs = [(fig, resolve_inside(tmp, "figures", name))
                    for a in res.analyses.values() for name, fig in a.figures]
        # figures saved while the analyses ran (FigurePrerender): moved in; the batch still
        # being saved is collected after the tables; the rest is saved here
        pre, res._prerender = getattr(res, "_prerender", None), None
        if pre is not None and (pre.formats, pre.dpi) != (options["formats"], options["dpi"]):
            pre.close()
            pre = None
        later = []
        if pre is not None:
            running = pre.stop()
            later = [(fig, stem) for fig, stem in fig_jobs if id(fig) in running]
            fig_jobs = [(fig, stem) for fig, stem in fig_jobs
                        if id(fig) not in running and not pre.take(fig, stem)]
        with contextlib.closing(pre) if pre is not None else contextlib.nullcontext(), \
                _FigureWriter(fig_jobs, options["formats"], options["dpi"]) as figure_writer:
            for aid, a in res.analyses.items():
                sec = {"id": aid, "title": a.title, "kind": a.kind, "choices": a.choices,
                       "tables": [], "figures": [], "notes": [redact_dates(n) for n in a.notes]}
                for k, (name, caption, tab) in enumerate(a.tables):
                    if _empty_table(a, sec, caption, tab):
                        continue
                    stem = resolve_inside(tmp, "tables", table_stem[aid, k])
                    if isinstance(tab, JournalTable):
                        # identifying columns: checked for the plan by check_identifiers
                        with _naming(stem, options["tables"]):
                            save_table(tab, stem, formats=options["tables"],
                                       allow_identifiers=True)
                        sec["tables"].append((caption, tab.data,
                                              [redact_dates(f) for f in tab.footnotes]))
                        jt = tab
                    elif isinstance(tab, pd.DataFrame):
                        # the reasons of its nulls: columns of the CSV, footnotes of the
                        # journal table (explain_blanks)
                        why = frame_reasons(tab, analysis=a.summary, kind=a.kind)
                        with _naming(stem, ("csv",)):  # full precision
                            write_csv_frame(explain_frame(tab, reasons=why),
                                            stem.with_name(stem.name + ".csv"))
                        jt = explain_blanks(
                            _table_of_frame(tab, _manuscript_caption(a, caption), name, a,
                                            plan_of.get(aid) or {}, labels, style), why)
                        fmts = tuple(f for f in options["tables"] if f != "csv")
                        if fmts:
                            with _naming(stem, fmts):
                                save_table(jt, stem, formats=fmts, allow_identifiers=True)
                        # the footnotes (NE reasons, NR, point intervals, ...) go with it
                        sec["tables"].append((caption, jt.data,
                                              [redact_dates(f) for f in jt.footnotes]))
                    else:
                        continue
                    if "patient_id" in getattr(jt.raw, "columns", ()):
                        # per-patient listings (data reports) are not manuscript material
                        listings.append(stem.name)
                    else:
                        items.append(ManuscriptItem("table", _manuscript_caption(a, caption),
                                                    table=jt))
                    if "tex" in options["tables"]:
                        tex_files.append(stem.name + ".tex")
                for name, fig in a.figures:
                    png = resolve_inside(tmp, "figures", name, suffix=".png")
                    sec["figures"].append(png)
                    cap = a.title or name
                    if len(a.figures) > 1:  # several figures of one analysis: say which
                        part = name.split("__", 1)[-1].replace("_", " ")
                        cap = f"{cap}: {part}"
                    items.append(("figure", cap, png))  # an item once the PNG is written
                sections.append(sec)
            # what needs no figure is written while the helper still saves figures
            title = res.plan.get("title", res.plan.get("plan", "Analysis report"))
            if res.published is not None:
                pub = resolve_inside(tmp, "tables", "published_vs_reproduced", suffix=".csv")
                with _naming(pub):  # full precision
                    write_csv_frame(explain_frame(res.published, fact=True), pub)
                # in every other table format the plan asks for, and first in the manuscript
                # (the report opens with it), numbered like the others, with its explanation
                from .min2022 import facts_journal_table
                jt = facts_journal_table(res.published)
                fmts = tuple(f for f in options["tables"] if f != "csv")
                if len(res.published):
                    if fmts:
                        with _naming(pub.with_suffix(""), fmts):
                            save_table(jt, pub.with_suffix(""), formats=fmts)
                    items.insert(0, ManuscriptItem("table", jt.caption, table=jt))
                    if "tex" in fmts:
                        tex_files.insert(0, "published_vs_reproduced.tex")
            if tex_files:
                from ..tables.export import latex_document
                _write_text(resolve_inside(tmp, "tables", "tables", suffix=".tex"),
                            latex_document(tex_files, title=title))
            from .._results import jsonable
            _write_text(resolve_inside(tmp, "provenance", suffix=".json"),
                        json.dumps(jsonable(res.provenance), indent=2) + "\n")
            for name, src in (extra_dirs or {}).items():
                shutil.copytree(src, resolve_inside(tmp, name))
            figure_writer.finish()
            failures: dict = {}
            if pre is not None:
                pre.finish()
                for fig, stem in later:
                    if not pre.take(fig, stem):  # its process failed: saved here
                        with _naming(stem, options["formats"]):
                            failure = _save_one(fig, stem, options["formats"], options["dpi"])
                        if failure is not None:
                            failures[id(fig)] = failure
                        import matplotlib.pyplot as plt
                        plt.close(fig)
            # a figure that could not be saved fails its analysis only (_save_one)
            failures.update(figure_writer.failures())
            _mark_figure_failures(res, failures, sections, items)
            doc = explain_nulls(res.to_dict())   # every null with its reason beside it
            # the run time lives in provenance.json only (byte-identical reruns)
            doc["provenance"] = for_results(doc["provenance"])
            # no per-patient calendar date in warnings that leave the machine
            warnings_out = [redact_dates(w) for w in res.warnings]
            doc["warnings"] = [redact_dates(w) for w in doc.get("warnings", [])]
            for summ in doc.get("analyses", {}).values():
                if isinstance(summ, dict) and isinstance(summ.get("warnings"), list):
                    summ["warnings"] = [redact_dates(w) if isinstance(w, str) else w
                                        for w in summ["warnings"]]
            _write_text(resolve_inside(tmp, "results", suffix=".json"),
                        json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        items = [ManuscriptItem("figure", it[1], figure=it[2]) if isinstance(it, tuple) else it
                 for it in items]
        if "docx" in options["tables"]:
            notes = [f"Table style: {style.name}; every table and figure of the run, in the "
                     "order of the plan. Per-table files are in tables/."]
            if listings:
                notes.append("Per-patient listings are not included here (tables/ only): "
                             + ", ".join(listings) + ".")
            if res.provenance.get("synthetic_data"):
                notes.insert(0, "SYNTHETIC DATA: these results describe a generated cohort, "
                                "not patients.")
            docx = resolve_inside(tmp, "manuscript", suffix=".docx")
            with _naming(docx):
                write_manuscript(items, docx, title=title, notes=notes)
        html = build_report(title=res.plan.get("title", res.plan.get("plan", "Analysis report")),
                            synthetic=bool(res.provenance.get("synthetic_data")), sections=sections,
                            provenance=for_results(res.provenance),
                            attrition=res.cohort.attrition.to_frame(),
                            published=res.published, warnings=warnings_out,
                            description=res.plan.get("description"))
        _write_text(resolve_inside(tmp, "report", suffix=".html"), html)
    return out


def _save_one(fig, stem, formats, dpi):
    """Save one figure; ``None``, or ``(status, reason)`` when it could not be saved.

    A failure of one figure (a figure too large to draw, a matplotlib error on odd
    data) is confined to its analysis: its partial files are removed and the analysis
    is marked (:func:`_mark_figure_failures`); the other analyses and their files are
    written. A file-system error (disk full, file-size limit, permission) is not a
    figure's problem: it is raised and the run writes nothing, as for any other file.
    """
    from ..plots.export import save_figure
    try:
        save_figure(fig, stem, formats=formats, dpi=dpi)
        return None
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - confined to this figure's analysis
        for f in formats:
            try:
                Path(stem).with_name(Path(stem).name + "." + f).unlink(missing_ok=True)
            except OSError:
                pass
        status = "not estimable" if isinstance(exc, InputError) else "error"
        text = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        return status, f"figure {Path(stem).name!r} could not be saved: {text}"


def _mark_figure_failures(res, failures: dict, sections: list, items: list) -> None:
    """The analyses whose figures could not be saved (``{id(fig): (status, reason)}``):
    their figures leave the report and the manuscript, and each such analysis gets the
    status and reason (``not estimable`` for a figure too large to draw, ``error`` for
    anything else: exit status 1 as for any internal error)."""
    if not failures:
        return
    for aid, a in res.analyses.items():
        bad = [(name, failures[id(fig)]) for name, fig in a.figures if id(fig) in failures]
        if not bad:
            continue
        names = {name for name, _ in bad}
        status = "error" if any(st == "error" for _n, (st, _r) in bad) else "not estimable"
        reason = "; ".join(r for _n, (_s, r) in bad)
        for sec in sections:
            if sec["id"] == aid:
                sec["figures"] = [p for p in sec["figures"] if p.stem not in names]
        items[:] = [it for it in items if not (isinstance(it, tuple) and it[2].stem in names
                                               and it[2].parent.name == "figures")]
        a.figures = [(n, f) for n, f in a.figures if n not in names]
        if a.status == "ok":
            a.status, a.reason = status, reason
        else:
            a.reason = f"{a.reason}; {reason}"
        if isinstance(a.summary, dict):
            a.summary["status"], a.summary["reason"] = a.status, a.reason
            if status == "error":
                a.summary.setdefault("internal_errors", []).append(reason)
        cat = "internal error" if status == "error" else "not estimable"
        res.warnings.append(f"[{aid}] {cat}: {reason}")
        a.notes.append(f"{cat}: {reason}")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _die_with_parent(parent: int) -> None:
    """In a forked figure process: end when the parent ends (Linux ``PR_SET_PDEATHSIG``).

    A parent killed outright (SIGKILL) runs no clean-up; without this its figure process
    would live on holding the parent's copy of the output lock, and the next run into
    the same folder would be refused as concurrent."""
    import signal
    # an interrupt (Ctrl-C reaches the whole process group) is the parent's to handle: it
    # stops this process; here it would only print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd, *_rest in list(_HELD.values()):  # the copy of the output lock: the parent's alone
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)


def _flush_std_streams() -> None:
    import sys
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def _single_threaded() -> bool:
    import threading
    return threading.active_count() == 1


def _save_cost(fig) -> int:
    """A rough, cheap measure of how long ``fig`` takes to save: the artists its axes and
    the figure hold (each text, bar and line is laid out and drawn in every format), and
    their ticks (a fixed list's length, else ~8), and a fixed share per axes (labels,
    spines). Counting from the axes' own lists costs microseconds; ``Figure.findobj`` would take 5-35 ms per figure."""
    axes = getattr(fig, "axes", None)
    if not isinstance(axes, list):
        return 0
    n = len(getattr(fig, "texts", ())) + 10 * len(axes)
    for a in axes:
        n += sum(len(getattr(a, k, ())) for k in ("texts", "patches", "lines", "collections",
                                                    "artists", "images", "tables"))
        for axis in (getattr(a, "xaxis", None), getattr(a, "yaxis", None)):
            if axis is not None and axis.get_visible():  # a tick: a label and two marks
                locs = getattr(axis.get_major_locator(), "locs", None)
                n += 3 * (len(locs) if locs is not None else 8)
    return n


class _FigureWriter:
    """Save every figure of a run once, in every format, on two CPUs when there are two.

    Drawing and encoding figures is most of the time a run takes to write its outputs,
    and one Python process uses one CPU. On Linux with two or more CPUs a helper process
    is forked (it inherits the figures; nothing is pickled) that takes figures one at a
    time from a shared counter while this process writes the tables; this process then
    takes the figures that are left (:meth:`finish`). Each figure is saved by exactly one
    process with the same function, so the files are the same bytes as a serial run.
    Elsewhere (no ``fork``, one CPU, fewer than two figures, or other threads running, as
    in a Jupyter kernel) every figure is saved here, in order. An error in the helper (a
    full disk...) is raised again by :meth:`finish`; leaving the ``with`` block early
    stops the helper.
    """

    def __init__(self, jobs, formats, dpi):
        # the figures that take longest first: the two processes then end close together
        # instead of one waiting while the other saves a large figure taken last (the
        # swimmer plot, last in a run, takes ~4x a small figure). Which process saves a
        # figure does not change its bytes.
        self.jobs = sorted(jobs, key=lambda job: -_save_cost(job[0]))
        self.formats, self.dpi = tuple(formats), dpi
        self.proc = self.counter = self.recv = None
        self._next = 0
        self.failed: dict = {}   # job index -> (status, reason): see _save_one

    def __enter__(self):
        import multiprocessing as mp
        import sys
        # fork only a process with one thread (the command line; not a Jupyter kernel, whose
        # other threads may hold locks the forked copy would wait on forever)
        if (len(self.jobs) >= 2 and _cpus() >= 2 and sys.platform.startswith("linux")
                and "fork" in mp.get_all_start_methods() and _single_threaded()):
            ctx = mp.get_context("fork")
            _flush_std_streams()  # else the copy of a pending buffer is written twice
            self._parent = os.getpid()
            self.counter = ctx.Value("i", 0)
            self.recv, send = ctx.Pipe(duplex=False)
            self.proc = ctx.Process(target=self._helper, args=(send,), daemon=True,
                                    name="aplcohort-figures")
            self.proc.start()
            send.close()
        return self

    def _take(self):
        if self.counter is None:
            i, self._next = self._next, self._next + 1
        else:
            with self.counter.get_lock():
                i = self.counter.value
                self.counter.value = i + 1
        return i if i < len(self.jobs) else None

    def _save(self, i):
        fig, stem = self.jobs[i]
        with _naming(stem, self.formats):  # the error names the file (sent to the parent)
            failure = _save_one(fig, stem, self.formats, self.dpi)
        if failure is not None:
            self.failed[i] = failure

    def _helper(self, send):  # runs in the forked process
        _die_with_parent(self._parent)
        try:
            while (i := self._take()) is not None:
                self._save(i)
            send.send(dict(self.failed))    # the figures that failed (confined): a dict
        except BaseException as exc:  # handed to the parent, which raises it (no traceback here)
            try:
                try:
                    send.send(exc)
                except Exception:
                    send.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
            except BaseException:  # noqa: BLE001 - the parent sees the pipe closed
                pass

    def finish(self):
        """Save the figures no process has taken yet; wait for the helper; raise its error."""
        while (i := self._take()) is not None:
            self._save(i)
        if self.proc is not None:
            try:
                err = self.recv.recv()
            except EOFError:
                err = RuntimeError("the process saving figures ended unexpectedly (exit code "
                                   f"{self.proc.exitcode}); no output was written")
            self.proc.join()
            self.proc = None
            if isinstance(err, dict):
                self.failed.update(err)
            elif err is not None:
                raise err

    def failures(self) -> dict:
        """``{id(figure): (status, reason)}`` of the figures that could not be saved."""
        return {id(self.jobs[i][0]): v for i, v in self.failed.items()}

    def __exit__(self, *exc):
        import matplotlib.pyplot as plt
        if self.proc is not None:  # left early (an error): stop the helper
            self.proc.terminate()
            self.proc.join()
            self.proc = None
        for fig, _stem in self.jobs:
            plt.close(fig)
        return False


_FIGDIR_OWNER = "owner.json"   # in a figure folder: which process on which machine made it


def _process_identity() -> dict:
    """This process as the figure folder's owner file records it: pid, host, boot and pid
    namespace (a pid means this process only on the same boot, host and namespace)."""
    import socket

    def read(path, link=False):
        try:
            return os.readlink(path) if link else Path(path).read_text().strip()
        except OSError:
            return ""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "boot": read("/proc/sys/kernel/random/boot_id"),
            "pidns": read("/proc/self/ns/pid", link=True)}


def _sweep_dead_figure_dirs(tmpdir: Path, prefix: str) -> None:
    """Remove the temporary folders of figure processes whose run was killed outright.

    A run removes its own folder when it ends, fails or is interrupted; one killed with
    SIGKILL cannot. A folder is removed only when everything says it is such a leftover:
    its name is exactly ``<prefix><pid>-<mkdtemp suffix>``; it is a folder (not a link)
    of this user; its owner file (:data:`_FIGDIR_OWNER`, written when it was made) names
    the same pid on this host, boot and pid namespace (a run in another container or on
    another machine sharing the temp directory is not judged by our process table); and
    no process has that pid. Anything else is left alone.
    """
    import json
    import re
    try:
        entries = list(tmpdir.glob(prefix + "*"))
    except OSError:
        return
    form = re.compile(re.escape(prefix) + r"([0-9]{1,10})-[a-z0-9_]{8}")
    me = _process_identity()
    uid = os.getuid() if hasattr(os, "getuid") else None
    for d in entries:
        m = form.fullmatch(d.name)
        if m is None:
            continue
        pid = int(m.group(1))
        try:
            st = d.lstat()
            import stat as _stat
            if not _stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            owner_path = d / _FIGDIR_OWNER
            ost = owner_path.lstat()
            if not _stat.S_ISREG(ost.st_mode) or ost.st_size > 4096:
                continue
            owner = json.loads(owner_path.read_text(encoding="utf-8"))
            if not (isinstance(owner, dict) and owner.get("pid") == pid
                    and all(owner.get(k) == me[k] and me[k] for k in ("host", "boot", "pidns"))):
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError, OverflowError):
            continue


class FigurePrerender:
    """Save a run's figures in a forked process while the run's analyses go on.

    The command line knows, before the first analysis runs, that every figure will be
    saved in the plan's formats. Figures handed to :meth:`submit` (after each analysis)
    are saved by one forked process at a time, in batches, into a private temporary
    folder, while this process computes the next analyses; :func:`write_outputs` then
    moves the finished files into the output folder (:meth:`take`) and saves the rest
    itself. Each figure is saved by :func:`aplcohort.plots.export.save_figure` from the
    same figure object, so the files are the same bytes as a serial run (tested).

    Used only where forking is safe and useful (:meth:`start` returns None otherwise):
    Linux, two or more CPUs, one thread (the command line; never a Jupyter kernel). A
    batch whose process fails is simply saved again by :func:`write_outputs`, where the
    error, if it comes back, is raised as in a serial run. :meth:`close` stops the
    process and removes the temporary folder.
    """

    BATCH = 3  # figures per forked process

    PREFIX = "aplcohort-figures-"

    def __init__(self, formats, dpi):
        import tempfile
        self.formats, self.dpi = tuple(formats), dpi
        _sweep_dead_figure_dirs(Path(tempfile.gettempdir()), self.PREFIX)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{os.getpid()}-"))
        self.pending: list = []        # [(seq, fig)] not yet given to a process
        self.batch: list = []          # [(seq, fig)] the running process's batch
        self.files: dict = {}          # id(fig) -> {fmt: Path} saved and checked
        self.proc = None
        self._seq = 0
        # the temporary folder goes even if the run fails before write_outputs
        import weakref
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.dir, ignore_errors=True)
        import json
        (self.dir / _FIGDIR_OWNER).write_text(json.dumps(_process_identity()), encoding="utf-8")
        st = self.dir.lstat()
        self._ident = (st.st_dev, st.st_ino)   # see _intact
        # imported once here, not again in every forked process (~0.15 s each); this
        # process imports it anyway to save the figures left at the end
        import matplotlib.backends.backend_pdf  # noqa: F401

    @classmethod
    def start(cls, formats, dpi) -> FigurePrerender | None:
        import multiprocessing as mp
        import sys
        if not (_cpus() >= 2 and sys.platform.startswith("linux")
                and "fork" in mp.get_all_start_methods() and _single_threaded()):
            return None
        return cls(formats, dpi)

    def submit(self, figures) -> None:
        """Queue ``[(name, fig), ...]`` (an analysis's figures) and start a batch if idle."""
        for _name, fig in figures:
            self.pending.append((self._seq, fig))
            self._seq += 1
        self.pump()

    def pump(self, wait: bool = False) -> None:
        """Collect a finished batch; start the next one. ``wait``: block for the batch."""
        if self.proc is not None:
            if wait:
                self.proc.join()
            if self.proc.is_alive():
                return
            ok = self.proc.exitcode == 0 and self._intact()
            self.proc = None
            for seq, fig in self.batch:
                paths = {f: self.dir / f"{seq}.{f}" for f in self.formats}
                if ok and (self.dir / f"{seq}.done").exists():
                    self.files[id(fig)] = paths
            if ok and self.batch:
                self._adopt_subsets(self.batch[0][0])
            self.batch = []
        if self.pending and not wait and _single_threaded():
            import multiprocessing as mp
            # small batches: what is still being saved when the run is written is short
            self.batch, self.pending = self.pending[:self.BATCH], self.pending[self.BATCH:]
            _flush_std_streams()  # else the copy of a pending buffer is written twice
            self._parent = os.getpid()
            self.proc = mp.get_context("fork").Process(
                target=self._child, args=(self.batch,), daemon=True, name="aplcohort-figures")
            # objects existing now are not scanned by the forked process's garbage
            # collector: scanning them would copy every page of this process's heap
            import gc
            gc.freeze()
            try:
                self.proc.start()
            finally:
                gc.unfreeze()

    def _intact(self) -> bool:
        """The temporary folder is still the one this run made (same device and inode, a
        folder of this user): in a shared temp directory without the sticky bit another
        user could put a folder of their own in its place. Files from a folder that is not
        intact are never used: this process saves those figures itself."""
        import stat as _stat
        try:
            st = self.dir.lstat()
        except OSError:
            return False
        return (_stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == self._ident
                and (not hasattr(os, "getuid") or st.st_uid == os.getuid()))

    def _adopt_subsets(self, seq) -> None:
        """Take the font subsets the finished process computed (see :meth:`_child`).

        Plain JSON checked field by field (never pickle: the folder is in the temp
        directory); anything unexpected is ignored and the fonts are subset again."""
        import base64
        import json
        try:
            doc = json.loads((self.dir / f"{seq}.subsets.json").read_text(encoding="ascii"))
            entries = {}
            for e in doc:
                font, face, glyphs, data, gmap = (e["font"], e["face"], e["glyphs"], e["data"],
                                                  e["map"])
                if not (isinstance(font, str) and type(face) is int and isinstance(data, str)
                        and all(type(g) is int for g in glyphs)
                        and all(type(a) is int and type(b) is int for a, b in gmap)):
                    return
                entries[(font, face, frozenset(glyphs))] = (
                    base64.b64decode(data, validate=True), {a: b for a, b in gmap})
        except (OSError, ValueError, TypeError, KeyError):
            return
        from ..plots.export import adopt_subset_cache
        adopt_subset_cache(entries)

    def _child(self, batch):  # runs in the forked process
        try:
            self._child_work(batch)
        except BaseException:  # noqa: BLE001
            # no traceback: the parent sees the exit code and saves this batch itself,
            # where an error that comes back is raised as in a serial run (naming the file)
            _flush_std_streams()
            os._exit(1)

    def _child_work(self, batch):
        _die_with_parent(self._parent)
        from ..plots.export import save_figure, subset_cache
        known = set(subset_cache())
        for seq, fig in batch:
            try:
                save_figure(fig, self.dir / str(seq), formats=self.formats, dpi=self.dpi)
            except Exception:  # noqa: BLE001 - not marked done: the run saves it and says why
                continue
            (self.dir / f"{seq}.done").touch()
        # the font subsets made here, for the processes forked after this one (pump)
        try:   # a speed-up only: the figures above are saved whatever happens here
            import base64
            import json
            doc = [{"font": font, "face": int(face), "glyphs": sorted(int(g) for g in glyphs),
                    "data": base64.b64encode(data).decode("ascii"),
                    "map": sorted([int(a), int(b)] for a, b in gmap.items())}
                   for (font, face, glyphs), (data, gmap) in subset_cache().items()
                   if (font, face, glyphs) not in known and isinstance(font, str)]
            if doc:
                (self.dir / f"{batch[0][0]}.subsets.json").write_text(json.dumps(doc),
                                                                     encoding="ascii")
        except Exception:  # noqa: BLE001
            pass

    def stop(self) -> set:
        """Start no more batches: figures never given to a process are dropped (the caller
        saves them); returns the ``id`` of each figure in the batch still being saved."""
        self.pending = []
        self.pump()
        return {id(fig) for _seq, fig in self.batch}

    def finish(self) -> None:
        """Wait for the running batch (no new one is started)."""
        self.pump(wait=True)

    def take(self, fig, stem: Path) -> bool:
        """Move the saved files of ``fig`` to ``<stem>.<fmt>``; False if it was not saved."""
        paths = self.files.pop(id(fig), None)
        if paths is None or not self._intact():
            return False
        try:
            for f, src in paths.items():
                shutil.move(src, stem.with_name(stem.name + "." + f))
        except FileNotFoundError:  # gone from the temporary folder: saved by the caller
            return False
        import matplotlib.pyplot as plt
        plt.close(fig)  # saved: as the writer closes the figures it saves
        return True

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.join()
            self.proc = None
        self._cleanup()


def _write_text(path: Path, text: str) -> None:
    with _naming(path), open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)

