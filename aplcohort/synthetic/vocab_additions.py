"""Variant-APL QC on a table, and a collision check of the data dictionary's vocabularies.

The vocabularies for relapsed AML / ALL this module used to propose are merged into
``aplcohort/cohort/dictionary.yaml`` and the fusion sensitivities into
:data:`aplcohort.cohort.vocab.FUSION_SENSITIVITY`, the one definition of ATO / ATRA
resistance used by validation (:mod:`aplcohort.cohort.validate`) and by the synthetic
variant-APL scenario. ``vocab_additions.yaml`` documents the QC rules that
:func:`variant_qc` applies.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd
from .. import _yaml

from ..cohort.vocab import FUSION_SENSITIVITY, match_key, resistant_fusions


@lru_cache(maxsize=1)
def load() -> dict:
    """The QC rules (``qc_rules``) and the fusion sensitivities (``fusion_sensitivity``,
    from :data:`aplcohort.cohort.vocab.FUSION_SENSITIVITY`).

    Examples
    --------
    >>> from aplcohort.synthetic import vocab_additions
    >>> [r["rule"] for r in vocab_additions.load()["qc_rules"]][:1]
    ['ato_resistant_variant']
    """
    text = resources.files("aplcohort.synthetic").joinpath("vocab_additions.yaml").read_text("utf-8")
    out = _yaml.safe_load(text)
    out["fusion_sensitivity"] = {k: dict(v) for k, v in FUSION_SENSITIVITY.items()}
    return out


def collisions(dictionary: dict) -> list[str]:
    """Synonyms or labels that belong to two labels of the same vocabulary.

    A key equal (by :func:`aplcohort.cohort.vocab.match_key`) under two labels would make
    a recorded value ambiguous.

    Parameters
    ----------
    dictionary : dict
        A parsed data dictionary (``aplcohort/cohort/dictionary.yaml``).

    Returns
    -------
    list of str
        One line per clash (empty when every key has one label).

    Examples
    --------
    >>> collisions({"vocabularies": {"r": {"IC": ["blina"], "blinatumomab": ["blina"]}}})
    ["r: 'blina' of label 'blinatumomab' already belongs to label 'IC'"]
    """
    out = []
    for vname, labels in (dictionary.get("vocabularies") or {}).items():
        owner: dict[str, str] = {}
        for label, syns in (labels or {}).items():
            for k in [label, *(syns or [])]:
                key = match_key(k)
                prev = owner.get(key)
                if prev is not None and prev != label:
                    out.append(f"{vname}: {k!r} of label {label!r} already belongs to label {prev!r}")
                owner.setdefault(key, label)
    return out


def _resistant(drug: str) -> set[str]:
    return set(resistant_fusions(drug))


def variant_qc(df: pd.DataFrame) -> pd.DataFrame:
    """Apply the variant-APL QC rules of vocab_additions.yaml to a cohort table
    (the same resistance definition as :mod:`aplcohort.cohort.validate`).

    Returns one row per finding: ``patient_id, rule, column, value, message``
    (data-quality warnings: the rows stay in the cohort).

    Examples
    --------
    >>> import pandas as pd
    >>> from aplcohort.synthetic.vocab_additions import variant_qc
    >>> d = pd.DataFrame({"patient_id": ["A"], "fusion": ["STAT5b-RARA"],
    ...                   "frontline_regimen": ["ATRA+chemo"], "reinduction_regimen": ["ATO-based"]})
    >>> variant_qc(d)["rule"].tolist()
    ['ato_resistant_variant', 'atra_resistant_variant', 'ato_non_pml_rara']
    """
    rows = []
    ato_cols = [c for c in ("frontline_regimen", "reinduction_regimen", "postremission_modality",
                            "salvage2_modality") if c in df.columns]
    ato_res, atra_res = _resistant("ato"), _resistant("atra")
    for _, r in df.iterrows():
        fusion = r.get("fusion")
        if not isinstance(fusion, str) or fusion in ("PML-RARA", "unknown", "other"):
            continue
        ato_in = [c for c in ato_cols if isinstance(r[c], str) and "ato" in r[c].casefold()]
        atra_in = []
        if isinstance(r.get("frontline_regimen"), str) and "atra" in r["frontline_regimen"].casefold():
            atra_in.append("frontline_regimen")
        if r.get("reinduction_regimen") == "tamibarotene":
            atra_in.append("reinduction_regimen")
        if fusion in ato_res:
            rows += [(r["patient_id"], "ato_resistant_variant", c, r[c],
                      f"ATO-based therapy recorded for an ATO-resistant APL variant ({fusion})") for c in ato_in]
        if fusion in atra_res:
            rows += [(r["patient_id"], "atra_resistant_variant", c, r[c],
                      f"ATRA / retinoid therapy recorded for an ATRA-resistant APL variant ({fusion})")
                     for c in atra_in]
        rows += [(r["patient_id"], "ato_non_pml_rara", c, r[c],
                  f"ATO is established for PML-RARA-positive APL only ({fusion})") for c in ato_in]
    return pd.DataFrame(rows, columns=["patient_id", "rule", "column", "value", "message"])
