"""Provenance of a run: input file hash, plan hash, package versions, seed, time."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path

from .._version import __version__

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


def provenance(*, data_path, plan_text: str, seed, mapping_path=None, synthetic: bool,
               plan_path=None, now: _dt.datetime | None = None) -> dict:
    """Build the provenance record written beside every run's outputs.

    ``now`` is recorded as the run time; it is the only field that differs between
    two runs of the same plan on the same data (kept out of results by
    :func:`aplcohort.plan.run_plan`'s ``deterministic`` option).
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    rec = {
        "input_file": Path(data_path).name,
        "input_sha256": sha256_file(data_path),
        "mapping_file": Path(mapping_path).name if mapping_path else None,
        "mapping_sha256": sha256_file(mapping_path) if mapping_path else None,
        "plan_file": Path(plan_path).name if plan_path else None,
        "plan_sha256": sha256_text(plan_text),
        "seed": seed,
        "synthetic_data": bool(synthetic),
        "packages": package_versions(),
        "platform": platform.platform(),
        "run_time_utc": now.replace(microsecond=0).isoformat(),
    }
    return rec
