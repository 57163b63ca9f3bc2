"""Keep patient identifiers out of plan outputs.

A plan's outputs (report.html, results.json, tables, figures) travel between
centres. A column that identifies a patient -- a name, a hospital number (MRN), a
phone number, an address, a birth date, a Korean resident registration number --
must not become a grouping, count, table, covariate or plot variable, because the
output would then list it patient by patient. :func:`check_identifiers` finds
such uses in a plan; the plan validator reports them as problems unless the plan
says ``allow_identifiers: true``.

Identifying columns are recognised two ways:

* the data dictionary columns listed in :data:`DICTIONARY_IDENTIFIERS` (the
  dictionary has no "identifying" flag, so they are listed here), and every
  date column when it would be printed per patient (:data:`DATE_ROLES`);
* any column whose *name* looks like an identifier (:func:`looks_identifying`):
  English names and common variants and abbreviations, and Korean hospital-export
  headers (이름, 성명, 등록번호, 주민등록번호, 전화, 주소, 생년월일 ...);
* columns the source itself marks as identifying: a REDCap field flagged
  ``Identifier? = y`` in the project's Data Dictionary, or whose field label looks
  like an identifier ("Patient name"). The loader records them in the data's
  ``DataFrame.attrs["identifying_columns"]`` (``{column: why}``,
  :func:`recorded_identifiers`), and every check here reads them from there.

:func:`redact_dates` removes calendar dates from warning texts that leave the
machine (report and results.json), so a per-patient birth or death date never
appears there; the warning keeps the column and row.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["DICTIONARY_IDENTIFIERS", "ROLE_KEYS", "check_identifiers", "looks_identifying",
           "describe", "identifying_columns", "identifying_uses", "recorded_identifiers",
           "refuse_identifiers", "redact_dates"]

#: Dictionary columns that identify a patient directly.
DICTIONARY_IDENTIFIERS = {"birth_date": "birth date"}

#: Analysis keys whose columns end up printed per group / per patient, and what they are.
ROLE_KEYS = {
    "group": "grouping variable", "groups": "grouping variable", "by": "grouping variable",
    "strata": "strata", "columns": "count variable", "variables": "table variable",
    "covariates": "covariate", "categorical": "covariate", "color_by": "plot colour",
    "sort_by": "plot order", "label_by": "plot label", "labels_by": "plot label",
    "exposure": "exposure", "treatment": "treatment",
}
#: Roles in which a date column is printed patient by patient (a count or group per date).
DATE_ROLES = {"group", "groups", "by", "strata", "columns", "variables", "color_by",
              "label_by", "labels_by"}

# Name tokens (after splitting on non-alphanumerics and camelCase), English.
_TOKENS = {
    "name": "name", "names": "name", "surname": "name", "firstname": "name", "lastname": "name",
    "fullname": "name", "forename": "name", "givenname": "name", "familyname": "name",
    "initials": "name", "patientname": "name", "ptname": "name",
    "mrn": "medical record number", "mrno": "medical record number",
    "umrn": "medical record number", "chart": "medical record number",
    "nhs": "national health number", "ssn": "social security number",
    "rrn": "resident registration number", "jumin": "resident registration number",
    "phone": "phone number", "telephone": "phone number", "tel": "phone number",
    "mobile": "phone number", "cellphone": "phone number", "fax": "phone number",
    "email": "e-mail address", "mail": "e-mail address",
    "address": "address", "addr": "address", "street": "address", "zip": "address",
    "zipcode": "address", "postcode": "address", "dob": "birth date",
    "birthdate": "birth date", "birthday": "birth date", "passport": "passport number",
}
# Token sequences (joined by "_").
_PHRASES = {
    "medical_record": "medical record number", "record_number": "medical record number",
    "record_no": "medical record number", "chart_no": "medical record number",
    "chart_number": "medical record number", "hospital_number": "hospital number",
    "hospital_no": "hospital number", "hosp_no": "hospital number",
    "hospital_id": "hospital number", "hosp_id": "hospital number",
    "patient_number": "hospital number", "patient_no": "hospital number",
    "pt_no": "hospital number", "unit_number": "hospital number", "case_number": "hospital number",
    "birth_date": "birth date", "date_of_birth": "birth date", "birth_day": "birth date",
    "social_security": "social security number", "resident_registration": "resident "
    "registration number", "registration_number": "resident registration number",
    "resident_number": "resident registration number", "national_id": "national id number",
    # 등록번호 (a Korean hospital's patient number) is usually exported as "registration no"
    "registration_no": "hospital registration number",
    "registration_num": "hospital registration number",
    "reg_no": "hospital registration number", "regno": "hospital registration number",
    "reg_number": "hospital registration number",
    "id_number": "national id number", "postal_code": "address", "e_mail": "e-mail address",
    "cell_phone": "phone number", "phone_number": "phone number", "contact_number": "phone number",
}
# Korean headers common in hospital exports (substring match).
_KOREAN = {
    "이름": "name", "성명": "name", "환자명": "name", "성함": "name",
    "등록번호": "hospital number", "병록번호": "medical record number",
    "차트번호": "medical record number", "환자번호": "hospital number",
    "주민등록번호": "resident registration number", "주민번호": "resident registration number", "주민등록": "resident registration number",
    "전화": "phone number", "연락처": "phone number", "휴대폰": "phone number",
    "핸드폰": "phone number", "주소": "address", "우편번호": "address",
    "생년월일": "birth date", "생일": "birth date", "이메일": "e-mail address",
}
# A "name" token next to one of these is not a person's name (centre name, drug name).
_NOT_PERSON = {"center", "centre", "hospital", "site", "drug", "regimen", "protocol", "study",
               "institution", "ward", "department", "dept", "trial", "file", "sheet", "variable",
               "column", "sponsor", "product", "gene", "fusion", "country", "city", "clinic"}


def _tokens(name: str) -> list[str]:
    s = unicodedata.normalize("NFKC", str(name))
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s)  # camelCase -> camel_Case
    return [t for t in re.split(r"[^0-9a-zA-Z]+", s.lower()) if t]


def looks_identifying(column: str) -> str | None:
    """What identifier a column name looks like (``"name"``, ``"phone number"`` ...), or None.

    Examples
    --------
    >>> looks_identifying("Patient Name"), looks_identifying("MRN"), looks_identifying("dob")
    ('name', 'medical record number', 'birth date')
    >>> looks_identifying("환자 이름"), looks_identifying("center_name"), looks_identifying("age")
    ('name', None, None)
    """
    raw = unicodedata.normalize("NFKC", str(column))
    for word, what in sorted(_KOREAN.items(), key=lambda kv: -len(kv[0])):  # longest first
        if word in raw:
            return what
    toks = _tokens(raw)
    if not toks:
        return None
    joined = "_".join(toks)
    for phrase, what in _PHRASES.items():
        if re.search(rf"(^|_){re.escape(phrase)}($|_)", joined):
            return what
    for t in toks:
        what = _TOKENS.get(t)
        if what is None:
            continue
        if what == "name" and _NOT_PERSON.intersection(toks):
            continue
        if t == "mail" and "e" not in toks and "email" not in toks:
            continue  # "mail" alone: only as e_mail
        return what
    if "".join(toks) in _TOKENS:  # "Birthdate", "PhoneNumber" written as one word
        return _TOKENS["".join(toks)]
    return None


#: What a column is, when its name gives it away ("looks like a ..."); any other ``what``
#: is a description recorded by the source ("flagged 'Identifier? = y' in ...").
_NAME_KINDS = frozenset([*_TOKENS.values(), *_PHRASES.values(), *_KOREAN.values(),
                         *DICTIONARY_IDENTIFIERS.values()])


def describe(what: str) -> str:
    """The phrase after "column 'x'" for an identifying column's ``what``.

    Examples
    --------
    >>> describe("name"), describe("per-patient date")
    ('looks like a name', 'is a per-patient date')
    >>> describe("flagged 'Identifier? = y' in the REDCap data dictionary")
    "is flagged 'Identifier? = y' in the REDCap data dictionary"
    """
    if what == "per-patient date":
        return "is a per-patient date"
    if what == "recorded":
        return "was let into the table with allow_identifiers=True"
    if what in _NAME_KINDS:
        return f"looks like a{'n' if what[0] in 'aeiou' else ''} {what}"
    return f"is {what}"


def recorded_identifiers(data) -> dict:
    """``{column: why}`` of the columns the data's source marked as identifying (a REDCap
    field flagged ``Identifier? = y``, or labelled like an identifier), kept by the loader
    in ``data.attrs["identifying_columns"]``; ``{}`` for anything else.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pt_code": ["x"]})
    >>> df.attrs["identifying_columns"] = {"pt_code": "flagged 'Identifier? = y'"}
    >>> recorded_identifiers(df), recorded_identifiers(None)
    ({'pt_code': "flagged 'Identifier? = y'"}, {})
    """
    attrs = getattr(data, "attrs", None)
    found = attrs.get("identifying_columns") if isinstance(attrs, dict) else None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _what(col, recorded) -> str | None:
    return DICTIONARY_IDENTIFIERS.get(str(col)) or looks_identifying(str(col)) or \
        (recorded or {}).get(str(col))


def identifying_columns(columns, recorded=None) -> dict:
    """``{column: what it looks like}`` for the columns that identify a patient by their
    name (:data:`DICTIONARY_IDENTIFIERS` and :func:`looks_identifying`, the names a plan
    refuses), or because the source marked them (``recorded``: ``{column: why}``, see
    :func:`recorded_identifiers`). Used by ``load`` / ``from_dataframe`` to warn.

    Examples
    --------
    >>> identifying_columns(["patient_id", "patient_name", "MRN", "age"])
    {'patient_name': 'name', 'MRN': 'medical record number'}
    """
    out = {}
    for c in columns:
        what = _what(c, recorded)
        if what:
            out[c] = what
    return out


def _is_date_column(col, data) -> bool:
    if data is not None and col in getattr(data, "columns", ()):
        import pandas as pd
        if pd.api.types.is_datetime64_any_dtype(data[col]):
            return True
    if str(col).lower().endswith("_date"):
        return True
    from ..cohort.schema import load_dictionary
    spec = load_dictionary().columns.get(str(col))
    return getattr(spec, "type", None) == "date"


def identifying_uses(uses, *, data=None) -> list:
    """``[(column, role, what)]`` for the ``(column, role, per_patient)`` uses that identify
    patients (see :func:`refuse_identifiers`); ``per_patient`` ``"recorded"`` marks a
    column already found identifying (``what`` is then ``"recorded"``). Columns the
    source of ``data`` marked identifying (:func:`recorded_identifiers`) count too."""
    out = []
    recorded = recorded_identifiers(data)
    for col, role, per_patient in uses:
        if col is None:
            continue
        what = _what(col, recorded)
        if what is None and per_patient == "recorded":
            what = "recorded"
        elif what is None and per_patient and _is_date_column(col, data):
            what = "per-patient date"
        if what is not None:
            out.append((col, role, what))
    return out


def refuse_identifiers(fn: str, uses, *, allow_identifiers=False, data=None) -> None:
    """The Python API's form of :func:`check_identifiers`: raise an ``InputError`` when a
    table or plot would print an identifying column, unless ``allow_identifiers=True``.

    Parameters
    ----------
    fn : str
        The function, named in the message.
    uses : iterable of ``(column, role, per_patient)``
        Each column the call prints, its role ("table variable", "grouping variable"
        ...) and whether a date column would be printed patient by patient in that role
        (then a date column is identifying too, as in a plan's :data:`DATE_ROLES`).
        ``column`` None is skipped.
    allow_identifiers : bool
        True turns the check off (identified output intended and permitted).
    data : DataFrame, optional
        To recognise date columns by their type, and the columns its source marked
        identifying (:func:`recorded_identifiers`).

    Examples
    --------
    >>> refuse_identifiers("table1", [("patient_name", "table variable", True)])
    Traceback (most recent call last):
    ...
    aplcohort.errors.InputError: table1: column 'patient_name' looks like a name and would be printed as a table variable; drop it, or pass allow_identifiers=True if identified output is intended and permitted
    """
    from .._checks import check_bool
    from ..errors import InputError
    if check_bool("allow_identifiers", allow_identifiers):
        return
    problems = []
    for col, role, what in identifying_uses(uses, data=data):
        kind = describe(what)
        problems.append(f"column {str(col)!r} {kind} and would be printed as a {role}")
    if problems:
        raise InputError(f"{fn}: " + "; ".join(dict.fromkeys(problems)) + "; drop it, or pass "
                         "allow_identifiers=True if identified output is intended and "
                         "permitted")


def _names_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [k for k in value if isinstance(k, str)]
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, dict):  # e.g. variables: [{column: x, label: ...}]
                out += [v[k] for k in ("column", "name", "variable") if isinstance(v.get(k), str)]
        return out
    return []


def check_identifiers(plan: dict, columns=None, *, date_columns=None,
                      identifying=None) -> list[str]:
    """Problems where a plan would print an identifying column.

    Parameters
    ----------
    plan : dict
        The parsed plan. ``allow_identifiers: true`` at its top level turns the
        check off (the plan author takes responsibility); any other value than
        true/false is itself a problem.
    columns : iterable of str, optional
        The data's columns: when given, only names that are columns are checked
        (an analysis key such as ``group`` may also name a derived column).
    date_columns : iterable of str, optional
        Columns holding dates (default: dictionary date columns and names ending
        in ``_date``); they are identifying in per-patient roles
        (:data:`DATE_ROLES`).
    identifying : dict, optional
        ``{column: why}`` of the columns the data's source marked identifying
        (:func:`recorded_identifiers` of the cohort's data: a REDCap field flagged
        ``Identifier? = y``); refused like the names.

    Returns
    -------
    list of str
        One readable line per problem (empty when the plan is fine).

    Examples
    --------
    >>> plan = {"analyses": [{"id": "c", "kind": "counts", "columns": ["name", "sex"]}]}
    >>> check_identifiers(plan)
    ["analysis 'c': column 'name' looks like a name and would be printed as a count variable; ..."]
    >>> check_identifiers({**plan, "allow_identifiers": True})
    []
    """
    problems: list[str] = []
    allow = plan.get("allow_identifiers", False) if isinstance(plan, dict) else False
    if not isinstance(allow, bool):
        return [f"allow_identifiers must be true or false, not {allow!r}"]
    if allow:
        return []
    cols = None if columns is None else set(map(str, columns))
    if date_columns is None:
        from ..cohort.schema import load_dictionary
        d = load_dictionary()
        dates = {c for c, spec in d.columns.items() if getattr(spec, "type", None) == "date"}
        if cols is not None:
            dates |= {c for c in cols if c.lower().endswith("_date")}
    else:
        dates = set(date_columns)
    fix = ("remove it from the plan, or add 'allow_identifiers: true' at the top of the plan "
           "if identified output is intended and permitted")
    analyses = plan.get("analyses") if isinstance(plan, dict) else None
    for a in analyses if isinstance(analyses, list) else []:
        if not isinstance(a, dict):
            continue
        aid = a.get("id", "?")
        for key, role in ROLE_KEYS.items():
            for col in _names_in(a.get(key)):
                if cols is not None and col not in cols:
                    continue
                what = _what(col, identifying)
                if what is None and key in DATE_ROLES and col in dates:
                    what = "per-patient date"
                if what is None:
                    continue
                kind = describe(what)
                problems.append(f"analysis {aid!r}: column {col!r} {kind} and would be printed "
                                f"as a {role}; {fix}")
    return problems


_DATE_RE = re.compile(
    r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b"
    r"|\b(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])[./](?:19|20)\d{2}\b"
    r"|\b(?:19|20)\d{2}[./](?:0?[1-9]|1[0-2])[./](?:0?[1-9]|[12]\d|3[01])\b")


def redact_dates(text: str) -> str:
    """Replace calendar dates in a message with ``<date withheld>``.

    Applied to warnings written into report.html and results.json: a data warning
    names the row, patient id and column, so the date itself is not needed there
    (the local ``aplcohort validate`` report still shows it to the data manager).

    Examples
    --------
    >>> redact_dates("row 7, patient P07, column death_date: value '2015-03-04': after cut-off")
    "row 7, patient P07, column death_date: value '<date withheld>': after cut-off"
    """
    return _DATE_RE.sub("<date withheld>", str(text))
