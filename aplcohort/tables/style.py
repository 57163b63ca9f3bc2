"""Journal styles: where AMA/JAMA, The Lancet and Blood (ASH) differ in how numbers print.

One :class:`TableStyle` object carries every convention a table cell depends on:
p-value rule, decimal mark, interval separator and the text of reference rows.
Every table builder and :func:`~aplcohort.tables.format.format_p` take ``style=``
(a name or a ``TableStyle``); the default is the aplcohort style.

==========  ===============  ==============================  ============  ===========
style       p below 0.001    p otherwise                     decimal mark  CI
==========  ===============  ==============================  ============  ===========
aplcohort   ``< 0.001``      2 significant digits (0.046)    ``.``         ``x (y–z)``
ama         ``<.001``        2 decimals; 3 if p < .01; no    ``.``         ``x (y–z)``
                             leading zero (``.03``, ``.004``)
blood       ``<.001``        as AMA (ASH journals follow     ``.``         ``x (y–z)``
                             the AMA manual for P values)
lancet      ``<0·0001``      2 significant digits (0·046);   ``·`` (mid    ``x (y–z)``
                             threshold 0·0001                dot)
==========  ===============  ==============================  ============  ===========

Values of p that would round to 1 print ``> 0.99`` (``>.99`` in AMA/Blood).
Every style separates interval bounds with an en dash and prints medians not
reached as "NR" and values that cannot be estimated as "NE" (with a footnote
saying why).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from ..errors import InputError

MIDDOT = "\u00b7"
REFERENCE_CHOICES = ("1 (reference)", "\u2014", "none")
_DIGIT_DOT = re.compile(r"(?<=\d)\.(?=\d)")


@dataclass(frozen=True)
class TableStyle:
    """Number conventions of one journal family.

    Parameters
    ----------
    name : str
    p_threshold : float
        Smaller p-values print as ``< threshold``.
    p_rule : {"significant", "ama"}
        ``"significant"``: ``p_digits`` significant digits; ``"ama"``: 2 decimals, 3 when
        p < 0.01.
    p_digits : int
        Significant digits of the ``"significant"`` rule (2 or 3).
    leading_zero : bool
        ``0.03`` (True) or ``.03`` (AMA, Blood).
    p_space : str
        Between ``<`` and the number (``"< 0.001"`` vs ``"<.001"``).
    decimal_mark : str
        ``"."`` or the Lancet's mid dot ``"·"``.
    ci_sep : str
        Separator of interval bounds (en dash).
    reference : str
        Text of a reference-level row in regression tables: ``"1 (reference)"``,
        ``"—"`` or ``"none"`` (no reference row).

    Examples
    --------
    >>> get_style("lancet").num("0.46")
    '0·46'
    >>> get_style(None).with_options(p_digits=3).p_parts(0.04567, None)
    ('=', '0.0457')
    """

    name: str = "aplcohort"
    p_threshold: float = 0.001
    p_rule: str = "significant"
    p_digits: int = 2
    leading_zero: bool = True
    p_space: str = " "
    decimal_mark: str = "."
    ci_sep: str = "\u2013"
    reference: str = "1 (reference)"

    def __post_init__(self):
        if self.p_rule not in ("significant", "ama"):
            raise InputError(f"p_rule must be 'significant' or 'ama'; got {self.p_rule!r}")
        if not (isinstance(self.p_digits, int) and 1 <= self.p_digits <= 4):
            raise InputError(f"p_digits must be 1 to 4 significant digits; got {self.p_digits!r}")
        if not (0 < float(self.p_threshold) < 0.1):
            raise InputError(f"p_threshold must be between 0 and 0.1; got {self.p_threshold!r}")
        if self.reference not in REFERENCE_CHOICES:
            raise InputError(f"reference_rows must be one of {list(REFERENCE_CHOICES)}; "
                             f"got {self.reference!r}")
        if self.decimal_mark not in (".", MIDDOT):
            raise InputError(f"decimal_mark must be '.' or '{MIDDOT}'; got {self.decimal_mark!r}")

    def with_options(self, **kw) -> "TableStyle":
        """A copy with some conventions changed (unknown names are rejected)."""
        names = [f.name for f in dataclasses.fields(self) if f.name != "name"]
        bad = sorted(set(kw) - set(names))
        if bad:
            import difflib
            hints = [m for b in bad for m in difflib.get_close_matches(b, names, n=1)]
            raise InputError(f"unknown style option(s) {bad}"
                             + (f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints
                                else "") + f" (allowed: {', '.join(names)})")
        return dataclasses.replace(self, **kw)

    # ------------------------------------------------------------------ numbers
    def number_text(self, s: str) -> str:
        """A formatted number with this style's decimal mark."""
        return s if self.decimal_mark == "." else s.replace(".", self.decimal_mark)

    def num(self, text: str) -> str:
        """Every decimal point between digits of a formatted cell in this style's mark.

        >>> get_style("lancet").num("0.64 (0.49\u20130.83)")
        '0·64 (0·49–0·83)'
        """
        if self.decimal_mark == ".":
            return text
        return _DIGIT_DOT.sub(self.decimal_mark, str(text))

    def _strip(self, s: str) -> str:
        if not self.leading_zero and s.startswith("0."):
            s = s[1:]
        return self.number_text(s)

    def p_parts(self, p: float, threshold: float | None) -> tuple[str, str]:
        """``(operator, number)`` of a p-value: ``("<", "0.001")``, ``("=", "0.046")``."""
        thr = self.p_threshold if threshold is None else float(threshold)
        if p < thr:
            return "<", self._strip(_plain(thr))
        if self.p_rule == "ama":
            dec = 3 if p < 0.01 else 2
            s = f"{p:.{dec}f}"
            if float(s) >= 1:
                return ">", self._strip("0.99")
            return "=", self._strip(s)
        k = self.p_digits
        dec = max(k - 1 - int(math.floor(math.log10(p))), 1)
        s = f"{p:.{dec}f}"
        if float(s) >= 1:
            return ">", self._strip("0." + "9" * max(dec, 2))
        return "=", self._strip(s)

    def p(self, p, na: str = "NA") -> str:
        """The p-value cell (see :func:`aplcohort.tables.format.format_p`)."""
        from .format import format_p
        return format_p(p, style=self, na=na)

    @property
    def reference_text(self) -> str | None:
        """Text of a reference row, or None when no reference row is shown."""
        return None if self.reference == "none" else self.reference


def _plain(x: float) -> str:
    import numpy as np
    return np.format_float_positional(float(x), trim="-")


STYLES = {
    "aplcohort": TableStyle(),
    "ama": TableStyle(name="ama", p_rule="ama", leading_zero=False, p_space=""),
    "blood": TableStyle(name="blood", p_rule="ama", leading_zero=False, p_space=""),
    "lancet": TableStyle(name="lancet", p_threshold=0.0001, decimal_mark=MIDDOT, p_space=""),
}
#: Other names accepted for the styles.
ALIASES = {"jama": "ama", "default": "aplcohort", "ash": "blood"}


def get_style(style=None, **options) -> TableStyle:
    """The :class:`TableStyle` named ``style`` (or ``style`` itself), with ``options`` applied.

    Parameters
    ----------
    style : None, str, TableStyle or mapping
        ``None`` / ``"aplcohort"``, ``"ama"`` (``"jama"``), ``"lancet"``, ``"blood"``
        (``"ash"``); a mapping ``{journal: NAME, <option>: value}`` sets options too.

    Examples
    --------
    >>> get_style("jama").name, get_style({"journal": "lancet", "p_digits": 3}).p_digits
    ('ama', 3)
    >>> get_style("nejm")
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: unknown table style 'nejm'; choose from ama, aplcohort, blood, lancet (or jama, ash)
    """
    if isinstance(style, TableStyle):
        return style.with_options(**options) if options else style
    if isinstance(style, dict):
        rest = dict(style)
        name = rest.pop("journal", None)
        return get_style(name, **{**rest, **options})
    key = "aplcohort" if style is None else str(style).strip().lower()
    key = ALIASES.get(key, key)
    if key not in STYLES:
        import difflib
        m = difflib.get_close_matches(key, list(STYLES) + list(ALIASES), n=1)
        hint = f"; did you mean '{m[0]}'?" if m else ""
        raise InputError(f"unknown table style {style!r}; choose from "
                         f"{', '.join(sorted(STYLES))} (or jama, ash){hint}")
    st = STYLES[key]
    return st.with_options(**options) if options else st


def plan_presentation(plan) -> tuple:
    """``(Labels, TableStyle)`` of a plan: its top-level ``labels:``, ``levels:``,
    ``style:`` and ``reference_rows:`` applied to the data dictionary and the default style.

    Examples
    --------
    >>> lab, st = plan_presentation({"style": "lancet", "reference_rows": "\u2014",
    ...                              "labels": {"sex": "Gender"}})
    >>> lab.column("sex"), st.name, st.reference
    ('Gender', 'lancet', '—')
    """
    from .labels import resolve_labels
    plan = plan or {}
    st = get_style(plan.get("style"))
    if plan.get("reference_rows") is not None:
        st = st.with_options(reference=plan["reference_rows"])
    return resolve_labels(plan), st
