"""The ``aplcohort`` command line.

Each capability adds a subcommand by providing a module with a
``register(subparsers)`` function (listed in ``_SUBCOMMAND_MODULES``); the
registered handler receives the parsed ``argparse.Namespace`` and returns an
exit status. Errors derived from :class:`aplcohort.errors.InputError` are
printed as a readable report and the command exits with status 2, without a
traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import sys

from ._version import __version__
from .errors import InputError

_SUBCOMMAND_MODULES = [
    "aplcohort.cohort.cli",
    "aplcohort.synthetic.cli",
    "aplcohort.plan.cli",
    "aplcohort.batch.cli",
]

#: The module that registers each subcommand: a command builds the parser from its own
#: module only, so ``aplcohort replicate`` does not import the batch engine or the
#: validator's command line (``--help``, no command or an unknown one: every module).
#: tests/test_security_cli_failures.py checks this table against the registrations.
_COMMAND_MODULE = {
    "validate": "aplcohort.cohort.cli", "mapping": "aplcohort.cohort.cli",
    "synth": "aplcohort.synthetic.cli",
    "run": "aplcohort.plan.cli", "replicate": "aplcohort.plan.cli",
    "power": "aplcohort.batch.cli", "sweep": "aplcohort.batch.cli",
}


def _command_of(argv) -> str | None:
    """The subcommand named in ``argv`` (its first word; ``None`` for ``-h``, ``--version``)."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``aplcohort`` argument parser.

    With ``command`` (a known subcommand) only the module that provides it is imported
    and registered; otherwise every subcommand is.
    """
    parser = argparse.ArgumentParser(
        prog="aplcohort",
        description="Retrospective cohort analysis of relapsed acute leukemia (APL first): "
                    "load and validate a patient table, derive endpoints, compare treatments "
                    "with survival and competing-risks methods, and export publication output.",
    )
    parser.add_argument("--version", action="version", version=f"aplcohort {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = ([_COMMAND_MODULE[command]] if command in _COMMAND_MODULE
               else _SUBCOMMAND_MODULES)
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue  # capability not present in this build
            raise
        mod.register(sub)
    return parser


def _os_error_text(exc: OSError) -> str:
    """One readable paragraph for an operating-system error (no traceback)."""
    name = exc.filename
    where = f" {name}" if name else ""
    if exc.errno == errno.ENOSPC:
        return (f"the disk is full{' while writing' + where if name else ''}; free some space "
                "and run again. Nothing was changed in the output folder (outputs are written "
                "to a temporary folder and moved into place only when complete).")
    if exc.errno == errno.EDQUOT:
        return (f"the disk quota is exceeded{' while writing' + where if name else ''}; free "
                "some space and run again.")
    if isinstance(exc, FileNotFoundError):
        return f"file not found:{where or ' (unnamed)'}"
    if isinstance(exc, IsADirectoryError):
        return f"{name or 'a path'} is a folder where a file was expected; give the file itself."
    if isinstance(exc, NotADirectoryError):
        return (f"{name or 'a path'}: a part of this path is a file where a folder was "
                "expected.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return (f"permission denied:{where or ' (unnamed)'}. Check that you may read the "
                "input files and write to the output folder (or choose another --out).")
    if exc.errno == errno.EROFS:
        return (f"read-only file system:{where or ' (unnamed)'}. Choose an output folder on a "
                "writable disk.")
    if exc.errno == errno.ENAMETOOLONG:
        return f"a file name is too long:{where}. Use shorter names."
    detail = exc.strerror or str(exc)
    return f"cannot read or write{where or ' a file'}: {detail}."


#: Characters a terminal may act on (ESC starts colour, title and screen-clearing
#: sequences; BEL, backspace, carriage return, C1 controls such as CSI): never printed
#: raw. Tab and new-line stay.
_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    r"""``text`` with every control character a terminal acts on written as a visible
    escape (``\x1b``), so that a patient id or a value from a sender's file cannot set
    the terminal's title, clear its screen or change its colours.

    Examples
    --------
    >>> print(terminal_safe("patient \x1b]0;PWNED\x07SYN-001 ok"))
    patient \x1b]0;PWNED\x07SYN-001 ok
    """
    return _TERMINAL_CONTROLS.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


class _TerminalSafeStream:
    """``sys.stdout`` / ``sys.stderr`` while a command runs: everything written goes
    through :func:`terminal_safe`, except a carriage return that starts a write (how a
    progress bar redraws its line)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, s):
        if isinstance(s, str):
            head = "\r" if s.startswith("\r") else ""
            s = head + terminal_safe(s[len(head):])
        return self._stream.write(s)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 success; 2 a user-caused problem (input, plan, arguments, file system:
    missing or unreadable file, permission, read-only or full disk), printed as
    one paragraph without traceback; 1 an unexpected internal error (the
    traceback is printed only when ``APLCOHORT_DEBUG=1``); 130 interrupted.
    """
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)  # malformed arguments: argparse prints usage, exits 2
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    cmd = args.command
    debug = os.environ.get("APLCOHORT_DEBUG") == "1"
    # what the command prints comes partly from data files (ids, values, labels)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TerminalSafeStream(saved[0]), _TerminalSafeStream(saved[1])
    try:
        return _run(args, cmd, debug)
    finally:
        if isinstance(sys.stdout, _TerminalSafeStream):
            sys.stdout = saved[0]
        if isinstance(sys.stderr, _TerminalSafeStream):
            sys.stderr = saved[1]


def _run(args, cmd: str, debug: bool) -> int:
    try:
        return int(args.handler(args) or 0)
    except InputError as exc:
        _error(cmd, str(exc))
        return 2
    except OSError as exc:
        _error(cmd, _os_error_text(exc))
        return 2
    except UnicodeDecodeError as exc:
        _error(cmd, f"a file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position "
                    f"{exc.start}); plans and mappings are YAML text files saved as UTF-8, not "
                    "binary or other documents.")
        return 2
    except MemoryError:
        _error(cmd, "out of memory; the input is too large for this machine.")
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: readable, with the traceback on request
        if debug:
            raise
        _error(cmd, f"internal error ({type(exc).__name__}: {exc}). This is a bug in aplcohort, "
                    "not in your input; please report it with the command you ran. Set "
                    "APLCOHORT_DEBUG=1 to see the traceback.")
        return 1


def _error(cmd: str, text: str) -> None:
    print(f"aplcohort {cmd}: error\n{text}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
