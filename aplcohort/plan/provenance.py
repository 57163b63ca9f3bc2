"""Provenance of a run: input file hash, plan hash, package versions, seed, time."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from .._version import __version__
from ..errors import InputError

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "matplotlib", "pyyaml",
             "openpyxl", "pyarrow", "python-docx")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions() -> dict[str, str]:
    out = {"aplcohort": __version__, "python": sys.version.split()[0]}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


#: Field holding the run time; it appears in ``provenance.json`` only.
RUN_TIME_KEY = "run_time_utc"


def run_time(now: _dt.datetime | None = None) -> _dt.datetime:
    """The run time to record: ``now`` if given, else ``SOURCE_DATE_EPOCH``, else the clock.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC, the reproducible-builds
    convention, https://reproducible-builds.org/specs/source-date-epoch/) makes two
    runs byte-identical.

    Examples
    --------
    >>> import os
    >>> os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
    >>> run_time().isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    if now is not None:
        return now
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde is not None and sde.strip() != "":
        if not re.fullmatch(r"\d{1,12}", sde.strip()):
            raise InputError(f"SOURCE_DATE_EPOCH={sde!r} is not a whole number of seconds since "
                             "1970-01-01 UTC (e.g. SOURCE_DATE_EPOCH=1767225600)")
        return _dt.datetime.fromtimestamp(int(sde.strip()), _dt.timezone.utc)
    return _dt.datetime.now(_dt.timezone.utc)


def for_results(prov: dict) -> dict:
    """The provenance without the run time (for ``results.json`` and ``report.html``)."""
    return {k: v for k, v in prov.items() if k != RUN_TIME_KEY}


def provenance(*, data_path, plan_text: str, seed, mapping_path=None, synthetic: bool,
               plan_path=None, now: _dt.datetime | None = None,
               input_sha256: str | None = None) -> dict:
    """Build the provenance record written beside every run's outputs.

    ``now`` is recorded as the run time (default: ``SOURCE_DATE_EPOCH`` when set,
    else the clock; see :func:`run_time`); it is the only field that differs
    between two runs of the same plan on the same data, and only
    ``provenance.json`` holds it (:func:`for_results` strips it elsewhere).
    """
    now = run_time(now)
    rec = {
        # a database URL (issue 18) is not a file: its name is the URL without credentials
        # and its hash the one given (of the table as read)
        "input_file": Path(data_path).name if input_sha256 is None else str(data_path),
        "input_sha256": sha256_file(data_path) if input_sha256 is None else input_sha256,
        "mapping_file": Path(mapping_path).name if mapping_path else None,
        "mapping_sha256": sha256_file(mapping_path) if mapping_path else None,
        "plan_file": Path(plan_path).name if plan_path else None,
        "plan_sha256": sha256_text(plan_text),
        "seed": seed,
        "synthetic_data": bool(synthetic),
        "packages": package_versions(),
        "platform": platform.platform(),
        RUN_TIME_KEY: now.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    return rec
