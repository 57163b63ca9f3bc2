"""Proposed vocabularies for relapsed AML / ALL and variant-APL QC (data in vocab_additions.yaml).

The data dictionary (``aplcohort/cohort/dictionary.yaml``) is owned by the
cohort-input layer; this module holds the proposed additions in the same
format so that they can be merged there, checks that they do not collide with
the existing labels and synonyms, and implements the variant-APL QC rules the
YAML states (:func:`variant_qc`) so that the synthetic variant-APL scenario and
validation use one definition of ATO / ATRA resistance.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd
import yaml

from ..cohort.vocab import match_key


@lru_cache(maxsize=1)
def load() -> dict:
    """The proposed additions (``remove_synonyms``, ``vocabularies``, ``fusion_sensitivity``,
    ``qc_rules``).

    Examples
    --------
    >>> from aplcohort.synthetic import vocab_additions
    >>> sorted(vocab_additions.load()["vocabularies"]["response_rr"])[:3]
    ['CR', 'CRh', 'CRi']
    """
    text = resources.files("aplcohort.synthetic").joinpath("vocab_additions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def collisions(dictionary: dict) -> list[str]:
    """Keys of the additions that clash with an existing label/synonym or with each other.

    A synonym equal (by :func:`aplcohort.cohort.vocab.match_key`) to a key of
    *another* label of the same vocabulary would make a recorded value ambiguous.
    Synonyms listed under ``remove_synonyms`` are taken out of the existing
    dictionary first.

    Parameters
    ----------
    dictionary : dict
        The parsed ``aplcohort/cohort/dictionary.yaml``.

    Returns
    -------
    list of str
        One line per clash (empty when the additions can be merged as they are).
    """
    out = []
    existing = dictionary.get("vocabularies", {})
    removed = load().get("remove_synonyms") or {}
    for vname, labels in load()["vocabularies"].items():
        owner: dict[str, str] = {}
        for label, syns in (existing.get(vname) or {}).items():
            drop = {match_key(x) for x in (removed.get(vname) or {}).get(label, [])}
            for k in [label, *(syns or [])]:
                if match_key(k) not in drop:
                    owner.setdefault(match_key(k), f"existing {label!r}")
        for label, syns in labels.items():
            for k in [label, *(syns or [])]:
                key = match_key(k)
                prev = owner.get(key)
                if prev is not None and prev != f"new {label!r}":
                    out.append(f"{vname}: {k!r} of new label {label!r} already belongs to {prev}")
                owner[key] = f"new {label!r}"
    return out


def _resistant(drug: str) -> set[str]:
    return {f for f, s in load()["fusion_sensitivity"].items() if s.get(drug) == "resistant"}


def variant_qc(df: pd.DataFrame) -> pd.DataFrame:
    """Apply the variant-APL QC rules of vocab_additions.yaml to a cohort table.

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
