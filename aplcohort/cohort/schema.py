"""The data dictionary as typed Python objects.

The machine-readable dictionary ``aplcohort/cohort/dictionary.yaml`` (package
data) is loaded once into a :class:`DataDictionary` of :class:`ColumnSpec` and
:class:`~aplcohort.cohort.vocab.Vocabulary` objects. :func:`data_dictionary`
gives it as a tidy DataFrame and :func:`write_data_dictionary_doc` writes
``docs/data_dictionary.md`` from it (a test checks the committed page is up to
date).

Also here: :func:`required_for`, the columns each analysis needs (checked when
that analysis runs; only ``patient_id``, ``disease`` and ``last_followup_date``
are required in every cohort).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from .. import _yaml

from ..errors import InputError
from .vocab import Vocabulary

TYPES = ("id", "text", "category", "date", "number", "integer", "bool")

#: Columns every cohort must have (the dictionary's ``required: true``).
CORE_REQUIRED = ("patient_id", "disease", "last_followup_date")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the data dictionary.

    Attributes
    ----------
    name : str
        Canonical column name.
    type : str
        One of ``id, text, category, date, number, integer, bool``.
    required : bool
        Must be present in every cohort.
    vocabulary : str or None
        Vocabulary name for ``category`` columns (``yes_no`` for ``bool``).
    unit : str or None
        Unit of ``number`` columns.
    min, max : float or None
        Allowed range (inclusive) of ``number``/``integer`` columns.
    derived : bool
        Derived by the loader when it can be (e.g. ``sanz_risk``).
    description : str
    """

    name: str
    type: str
    required: bool = False
    vocabulary: str | None = None
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    derived: bool = False
    description: str = ""


@dataclass(frozen=True)
class DataDictionary:
    """The whole dictionary: ordered columns and vocabularies."""

    version: int
    columns: dict  # name -> ColumnSpec (insertion ordered)
    vocabularies: dict  # name -> Vocabulary

    def __contains__(self, name) -> bool:
        return name in self.columns

    def column(self, name: str) -> ColumnSpec:
        try:
            return self.columns[name]
        except KeyError:
            raise InputError(f"unknown column {name!r}; the data dictionary has: "
                             f"{', '.join(self.columns)}") from None

    def vocabulary_of(self, name: str) -> Vocabulary | None:
        spec = self.column(name)
        return self.vocabularies.get(spec.vocabulary) if spec.vocabulary else None

    def names_of_type(self, type_: str) -> tuple[str, ...]:
        return tuple(n for n, c in self.columns.items() if c.type == type_)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, c in self.columns.items() if c.required)


def _build(raw: dict) -> DataDictionary:
    vocabs = {}
    for vname, labels in (raw.get("vocabularies") or {}).items():
        vocabs[vname] = Vocabulary.from_mapping(vname, labels)
    cols = {}
    for name, spec in raw["columns"].items():
        t = spec.get("type")
        if t not in TYPES:
            raise InputError(f"data dictionary: column {name!r} has unknown type {t!r}")
        voc = spec.get("vocabulary")
        if t == "bool" and voc is None:
            voc = "yes_no"
        if voc is not None and voc not in vocabs:
            raise InputError(f"data dictionary: column {name!r} names unknown vocabulary {voc!r}")
        cols[name] = ColumnSpec(
            name=name, type=t, required=bool(spec.get("required", False)), vocabulary=voc,
            unit=spec.get("unit"), min=spec.get("min"), max=spec.get("max"),
            derived=bool(spec.get("derived", False)), description=spec.get("description", ""))
    return DataDictionary(version=int(raw.get("version", 1)), columns=cols, vocabularies=vocabs)


@functools.lru_cache(maxsize=1)
def load_dictionary() -> DataDictionary:
    """Load the packaged data dictionary (cached).

    Examples
    --------
    >>> d = load_dictionary()
    >>> d.column("wbc_diagnosis").unit
    'x10^9/L'

    Validated against: the YAML file itself (tests/test_cohort_schema.py).
    """
    text = resources.files("aplcohort.cohort").joinpath("dictionary.yaml").read_text("utf-8")
    return _build(_yaml.safe_load(text))


def data_dictionary() -> pd.DataFrame:
    """The data dictionary as a tidy table.

    Returns
    -------
    DataFrame
        Columns ``[column, type, unit, required, vocabulary, description]``, one
        row per canonical column, in dictionary order.

    Examples
    --------
    >>> dd = data_dictionary()
    >>> list(dd.columns)
    ['column', 'type', 'unit', 'required', 'vocabulary', 'description']

    Validated against: dictionary.yaml (tests/test_cohort_schema.py).
    """
    d = load_dictionary()
    rows = [{"column": c.name, "type": c.type, "unit": c.unit or "",
             "required": c.required, "vocabulary": c.vocabulary or "",
             "description": c.description} for c in d.columns.values()]
    return pd.DataFrame(rows, columns=["column", "type", "unit", "required", "vocabulary",
                                       "description"])


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def render_data_dictionary_markdown() -> str:
    """Markdown text of ``docs/data_dictionary.md`` (generated; do not edit by hand)."""
    d = load_dictionary()
    out = ["# Data dictionary", "",
           "<!-- generated by aplcohort.cohort.schema.write_data_dictionary_doc(); "
           "do not edit by hand -->", "",
           "One row per patient with relapsed acute leukemia. Required in every cohort: "
           + ", ".join(f"`{c}`" for c in d.required)
           + ". Every other column is optional and is checked when an analysis that "
             "needs it runs (`aplcohort.cohort.required_for`).", "",
           "Types: `id` unique identifier; `text` free text; `category` a label from the "
           "named vocabulary (synonyms accepted, matching ignores case, repeated spaces and "
           "spaces around `+`, `-`, `/`); `date` calendar date; `number` real number in the "
           "unit stated; `bool` yes/no (vocabulary `yes_no`).", "",
           "## Columns", "",
           "| column | type | unit | range | required | vocabulary | description |",
           "|---|---|---|---|---|---|---|"]
    for c in d.columns.values():
        rng = ""
        if c.min is not None or c.max is not None:
            rng = f"{'' if c.min is None else c.min} to {'' if c.max is None else c.max}"
        desc = c.description + (" *(derived when possible)*" if c.derived else "")
        out.append(f"| `{c.name}` | {c.type} | {_md_escape(c.unit or '')} | {rng} | "
                   f"{'yes' if c.required else ''} | {c.vocabulary or ''} | {_md_escape(desc)} |")
    out += ["", "## Vocabularies", "",
            "Canonical label first, then the synonyms accepted for it. A value that "
            "matches no label or synonym is reported as a problem, never guessed.", ""]
    for v in d.vocabularies.values():
        out += [f"### `{v.name}`", "", "| label | synonyms |", "|---|---|"]
        for lab in v.labels:
            syn = ", ".join(f"`{s}`" for s in v.synonyms[lab])
            out.append(f"| `{lab}` | {_md_escape(syn)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_data_dictionary_doc(path: str | Path = "docs/data_dictionary.md") -> Path:
    """Write the generated data-dictionary page to ``path`` and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_data_dictionary_markdown(), encoding="utf-8")
    return p


# --------------------------------------------------------------------------------------
# Columns each analysis needs
# --------------------------------------------------------------------------------------

#: Date column behind each named time zero.
TIME_ZERO_COLUMNS = {
    "relapse1": "relapse1_date",
    "reinduction": "reinduction_start_date",
    "response": "response_date",
    "mcr2": "response_date",
    "postremission": "postremission_start_date",
}

_ENDPOINT_COLUMNS = {
    "OS": ("death_date",),
    "EFS": ("response", "relapse2_date", "death_date"),
    "RFS": ("response", "relapse2_date", "death_date"),
    "CIR": ("response", "relapse2_date", "death_date"),
    "NRM": ("response", "relapse2_date", "death_date"),
    "ANC_RECOVERY": ("anc_recovery_date", "death_date"),
    "PLT_RECOVERY": ("plt_recovery_date", "death_date"),
}


def time_zero_columns(time_zero: str) -> tuple[str, ...]:
    """Columns needed to place a time zero (named or a date column)."""
    if time_zero in TIME_ZERO_COLUMNS:
        cols = [TIME_ZERO_COLUMNS[time_zero]]
        if time_zero in ("response", "mcr2"):
            cols.insert(0, "response")
        if time_zero == "postremission":
            cols.insert(0, "postremission_modality")
        return tuple(cols)
    d = load_dictionary()
    if time_zero in d.columns and d.columns[time_zero].type == "date":
        return (time_zero,)
    raise InputError(
        f"unknown time zero {time_zero!r}: use one of {', '.join(TIME_ZERO_COLUMNS)} "
        f"or a date column ({', '.join(d.names_of_type('date'))})")


def required_for(analysis: str, time_zero: str | None = None) -> tuple[str, ...]:
    """Columns an analysis needs, in dictionary order.

    Parameters
    ----------
    analysis : str
        An endpoint name (``OS, EFS, RFS, LFS, CIR, NRM, ANC_recovery,
        PLT_recovery``; case-insensitive) or ``"core"`` (the columns every cohort
        needs).
    time_zero : str, optional
        Named time zero (``relapse1, reinduction, response, mcr2,
        postremission``) or a date column; its columns are added.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> required_for("OS", time_zero="relapse1")
    ('patient_id', 'disease', 'relapse1_date', 'death_date', 'last_followup_date')

    Validated against: hand-written expectations (tests/test_cohort_schema.py).
    """
    key = analysis.upper()
    if key == "LFS":
        key = "RFS"
    cols = set(CORE_REQUIRED)
    if key != "CORE":
        if key not in _ENDPOINT_COLUMNS:
            raise InputError(f"unknown analysis {analysis!r}: use one of core, OS, EFS, RFS, "
                             "LFS, CIR, NRM, ANC_recovery, PLT_recovery")
        cols.update(_ENDPOINT_COLUMNS[key])
    if time_zero is not None:
        cols.update(time_zero_columns(time_zero))
    order = list(load_dictionary().columns)
    return tuple(c for c in order if c in cols)
