"""Controlled vocabularies: map recorded values to canonical labels.

Matching rule (:func:`match_key`): a value matches a canonical label or one of
its synonyms when both are equal after

* Unicode case folding (``"ASCT"`` = ``"asct"``),
* trimming and collapsing runs of white space to one space
  (``"Autologous   SCT "`` = ``"autologous sct"``),
* removing white space around ``+``, ``-``, ``/``, ``:``, ``;``, ``,``, ``(`` and
  ``)`` (``"ATO + ATRA"`` = ``"ato+atra"``, ``"auto - HSCT"`` = ``"auto-hsct"``).

Nothing else is relaxed: a hyphen is not a space, a typo is not corrected. A
value that matches nothing is reported as a problem, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError

_WS = re.compile(r"\s+")
_AROUND = re.compile(r"\s*([+\-/:;,()])\s*")


def match_key(value) -> str:
    """Normalised matching key of a value (see module docstring).

    Examples
    --------
    >>> match_key("  ATO + ATRA ")
    'ato+atra'
    >>> match_key("Autologous   SCT")
    'autologous sct'

    Validated against: hand-written cases (tests/test_cohort_vocab.py).
    """
    s = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    s = _WS.sub(" ", s)
    s = _AROUND.sub(r"\1", s)
    return s


@dataclass(frozen=True)
class Vocabulary:
    """A controlled vocabulary.

    Attributes
    ----------
    name : str
    labels : tuple of str
        Canonical labels, in dictionary order.
    synonyms : dict
        ``{label: tuple of synonyms}``.
    """

    name: str
    labels: tuple
    synonyms: dict
    _lookup: dict

    @classmethod
    def from_mapping(cls, name: str, mapping: dict) -> "Vocabulary":
        """Build from ``{label: [synonyms]}``; raises if two entries collide."""
        lookup: dict[str, str] = {}
        syn: dict[str, tuple] = {}
        for label, synonyms in mapping.items():
            label = str(label)
            syn[label] = tuple(str(s) for s in (synonyms or []))
            for s in (label, *syn[label]):
                k = match_key(s)
                if k in lookup and lookup[k] != label:
                    raise InputError(
                        f"vocabulary {name!r}: {s!r} matches both {lookup[k]!r} and {label!r}")
                lookup[k] = label
        return cls(name=name, labels=tuple(syn), synonyms=syn, _lookup=lookup)

    def normalise(self, value) -> str | None:
        """Canonical label of ``value``, or ``None`` when it matches nothing.

        Examples
        --------
        >>> from aplcohort.cohort.schema import load_dictionary
        >>> v = load_dictionary().vocabularies["postremission_modality"]
        >>> v.normalise("ASCT"), v.normalise("Autologous SCT"), v.normalise("banana")
        ('auto HSCT', 'auto HSCT', None)
        """
        return self._lookup.get(match_key(value))

    def __contains__(self, value) -> bool:
        return self.normalise(value) is not None

    def accepted(self) -> list[str]:
        """Every accepted spelling (labels and synonyms), for error messages."""
        return [s for lab in self.labels for s in (lab, *self.synonyms[lab])]


def normalise(value, vocabulary: Vocabulary | str) -> str | None:
    """Canonical label of ``value`` in ``vocabulary`` (a Vocabulary or its name).

    Examples
    --------
    >>> normalise("ATO+ATRA", "reinduction_regimen"), normalise("arsenic", "reinduction_regimen")
    ('ATO-based', 'ATO-based')

    Validated against: hand-written cases (tests/test_cohort_vocab.py).
    """
    if isinstance(vocabulary, str):
        from .schema import load_dictionary
        vocabs = load_dictionary().vocabularies
        if vocabulary not in vocabs:
            raise InputError(f"unknown vocabulary {vocabulary!r}; known: {', '.join(vocabs)}")
        vocabulary = vocabs[vocabulary]
    return vocabulary.normalise(value)


def normalise_series(values: pd.Series, vocabulary: Vocabulary) -> tuple[pd.Series, list]:
    """Normalise a Series; missing values stay missing.

    Returns
    -------
    (Series, list)
        The canonical labels (object dtype; ``None`` where missing or unknown)
        and the list of ``(index, value)`` pairs that matched nothing.
    """
    out = []
    bad = []
    for idx, v in values.items():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(None)
            continue
        lab = vocabulary.normalise(v)
        if lab is None:
            bad.append((idx, v))
        out.append(lab)
    return pd.Series(out, index=values.index, dtype=object), bad


#: Drug sensitivity of the RARA fusions (seed 004, DOMAIN.md): NuMA-, NPM1-, FIP1L1-RARA are
#: ATRA sensitive; PLZF-RARA (t(11;17)(q23;q21)) and STAT5b-RARA are ATRA resistant;
#: PLZF-RARA is ATO resistant and STAT5b-RARA responds poorly to ATO (case series); ATO is
#: established for PML-RARA only. The one definition used by validation
#: (:mod:`aplcohort.cohort.validate`) and by the synthetic variant-APL scenario.
FUSION_SENSITIVITY: dict = {
    "PML-RARA": {"atra": "sensitive", "ato": "sensitive"},
    "PLZF-RARA": {"atra": "resistant", "ato": "resistant"},
    "STAT5b-RARA": {"atra": "resistant", "ato": "resistant"},
    "NPM1-RARA": {"atra": "sensitive", "ato": "not established"},
    "NuMA-RARA": {"atra": "sensitive", "ato": "not established"},
    "FIP1L1-RARA": {"atra": "sensitive", "ato": "not established"},
}


def resistant_fusions(drug: str) -> tuple:
    """Fusions resistant to ``drug`` ("ato" or "atra") in :data:`FUSION_SENSITIVITY`.

    Examples
    --------
    >>> resistant_fusions("atra")
    ('PLZF-RARA', 'STAT5b-RARA')
    """
    if drug not in ("ato", "atra"):
        raise InputError(f"drug must be 'ato' or 'atra', got {drug!r}")
    return tuple(f for f, s in FUSION_SENSITIVITY.items() if s[drug] == "resistant")


#: Response categories (vocabulary ``response``) that apply to each disease: APL molecular /
#: haematological CR2; AML ELN 2022 categories (CR, CRh as in ADMIRAL, CRi, MLFS, PR,
#: MRD-negative CR); ALL (TOWER: CR, CRh, CRi; MRD-negative CR). A CR after a relapse is
#: recorded as CR2. Validation warns when a category of another disease is recorded.
RESPONSE_BY_DISEASE: dict = {
    "APL": ("mCR2", "CR2", "none"),
    "AML": ("CR2", "MRD-negative CR", "CRh", "CRi", "MLFS", "PR", "none"),
    "ALL": ("CR2", "MRD-negative CR", "CRh", "CRi", "PR", "none"),
}

