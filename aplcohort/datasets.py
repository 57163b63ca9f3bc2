"""Bundled SYNTHETIC example cohorts, available after ``pip install aplcohort``.

The notebooks and the documentation use these so that they run from any working
directory without the repository's ``data/`` folder. Every row is synthetic
(``synthetic == "yes"``) and the cohort's ``source`` says so.

>>> import aplcohort as apc
>>> cohort = apc.example_cohort("min2022")
>>> cohort.n, bool(cohort.data["synthetic"].all())
(52, True)
"""

from __future__ import annotations

from .errors import InputError

_NAMES = ("min2022",)


def _check(name: str) -> None:
    if name not in _NAMES:
        raise InputError(f"unknown example cohort {name!r}; available: {', '.join(_NAMES)}")


def example_data(name: str = "min2022", *, seed: int | None = None):
    """The raw table of a synthetic example cohort, as a file would hold it.

    Parameters
    ----------
    name : {"min2022"}
        ``"min2022"``: the 52-patient replica of Min et al., Blood Res 2022
        (see ``docs/synthetic.md``).
    seed : int, optional
        Generator seed; with the default seed, the table written by
        ``aplcohort.synthetic.min2022.to_csv_bytes`` equals the repository's
        ``data/synthetic/min2022.csv`` byte for byte (tested).

    Returns
    -------
    pandas.DataFrame
        Text cells (dates ISO ``YYYY-MM-DD``), one row per patient, ``synthetic``
        is ``"yes"`` on every row.
    """
    _check(name)
    from .synthetic import min2022
    return min2022.generate(seed=min2022.DEFAULT_SEED if seed is None else int(seed))


def example_cohort(name: str = "min2022", *, seed: int | None = None):
    """A validated :class:`~aplcohort.cohort.Cohort` of a synthetic example.

    Same validation as :func:`aplcohort.load`; ``source["format"]`` is
    ``"synthetic example"`` and ``source["synthetic"]`` is true.

    Parameters
    ----------
    name : {"min2022"}
    seed : int, optional
        See :func:`example_data`.

    Returns
    -------
    Cohort
    """
    import dataclasses

    from .cohort.cohort import from_dataframe
    df = example_data(name, seed=seed)
    c = from_dataframe(df)
    label = f"SYNTHETIC example cohort {name!r}" + (f" (seed {seed})" if seed is not None else "")
    return dataclasses.replace(c, source={**c.source, "path": label,
                                          "format": "synthetic example", "synthetic": True})


def example_mapping():
    """Path of the example column mapping (YAML) used in notebook 02.

    It maps a hospital-style spreadsheet (``Study No.``, ``Dx date``, local codes such as
    ``Arsenic`` / ``ASCT``, dd/mm/yyyy dates, WBC in cells/µL) to the data dictionary; copy
    it beside your own data and edit it.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import aplcohort as apc
    >>> apc.example_mapping().name
    'example_mapping.yaml'
    """
    from importlib.resources import files
    from pathlib import Path
    return Path(str(files("aplcohort.synthetic") / "example_mapping.yaml"))
