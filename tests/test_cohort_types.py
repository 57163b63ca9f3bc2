"""One typing and missing-value policy (aplcohort.cohort.types) for every column.

R reference: tests/reference/cohort_types_bmt.R (KMsurv ``bmt`` saved as CSV with blank,
NA, n/a and "." cells in two numeric columns; ``coxph`` complete-case fit), stored in
tests/reference/cohort_types_bmt.json at 17 significant digits.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import validate
from aplcohort.cohort.types import (MISSING_TOKENS, ColumnTypeError, is_missing, missing_mask,
                                    parse_number, parse_numbers, type_extra_columns)
from aplcohort.errors import CohortValidationError, InputError, PlanError

REF = json.load(open("tests/reference/cohort_types_bmt.json"))
BMT = "tests/data/types/bmt_missing.csv"


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("text, reason", [
    ("1_0", "underscore"),
    ("1,200", "thousands separator"),
    ("12,345,678", "thousands separator"),
    ("1.200,5", "thousands separator"),
    ("1 200", "thousands separator"),
    ("1,5", "decimal comma"),
    ("１２", "non-ASCII digits"),
    ("١٢", "non-ASCII digits"),
    ("inf", "not a finite number"),
    ("5 mg", "is not a number"),
    ("<0.5", "is not a number"),
])
def test_numbers_parsed_strictly(text, reason):
    f, why = parse_number(text)
    assert f is None and reason in why


def test_thousands_and_decimal_comma_messages_differ():
    assert "thousands separator" in parse_number("1,200")[1]
    assert "decimal comma" not in parse_number("1,200")[1].split("(")[0]
    assert "decimal comma" in parse_number("1,5")[1] and "thousands" not in parse_number("1,5")[1]


def test_plain_numbers_and_declared_unicode_digits():
    for text, want in [("12", 12.0), ("-0.5", -0.5), (".5", 0.5), ("1e3", 1000.0),
                       (" 7 ", 7.0), ("+3", 3.0)]:
        assert parse_number(text) == (want, None)
    assert parse_number("１２.５", unicode_digits=True) == (12.5, None)
    assert parse_number("١٢", unicode_digits=True) == (12.0, None)
    assert parse_number(True)[0] is None and parse_number(3) == (3.0, None)


def test_missing_tokens_one_list():
    for tok in ["", "  ", "NA", "na", "N/A", "#N/A", "NaN", "NaT", "null", "."]:
        assert is_missing(tok), tok
        assert tok.strip().casefold() in MISSING_TOKENS
    for val in ["none", "-", "0", "unknown", 0]:
        assert not is_missing(val)
    assert missing_mask(pd.Series(["1", ".", None, "x"], dtype=object)).tolist() == \
        [False, True, True, False]


def test_parse_numbers_vectorised_matches_scalar():
    cells = ["1", "", "NA", "2.5", "1,5", "1_0", 3, 4.5, None, "x", "１", ".", "1e2", "1", True]
    x, miss, bad = parse_numbers(pd.Series(cells, dtype=object))
    for i, v in enumerate(cells):
        if is_missing(v):
            assert miss[i] and np.isnan(x[i]) and i not in bad
            continue
        f, why = parse_number(v)
        if f is None:
            assert bad[i] == why and np.isnan(x[i])
        else:
            assert x[i] == f and i not in bad


def test_dictionary_columns_use_the_same_policy():
    raw = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e"], "disease": ["APL"] * 5,
                        "last_followup_date": ["2020-01-01"] * 5,
                        "wbc_diagnosis": ["1.5", ".", "n/a", "1_0", "1,200"]})
    rep = validate(raw)
    assert rep.data["wbc_diagnosis"].iloc[:3].isna().tolist() == [False, True, True]
    msgs = {p.row: p.message for p in rep.errors if p.column == "wbc_diagnosis"}
    assert set(msgs) == {5, 6}
    assert "underscore" in msgs[5] and "thousands separator" in msgs[6]


# ----------------------------------------------------------------------------- columns
def test_numeric_column_with_missing_cells_becomes_numeric():
    df = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e"],
                       "x": ["1", "", "NA", "n/a", "."], "site": ["S1", "S2", "NA", "S1", "x"],
                       "code": ["01", "02", "01", "03", "02"]})
    out = type_extra_columns(df, {"code": "text"}, known_columns={"patient_id"})
    assert out["x"].dtype == float and out["x"].tolist()[0] == 1.0 and out["x"].isna().sum() == 4
    assert out["site"].tolist() == ["S1", "S2", None, "S1", "x"]
    assert out["code"].tolist() == ["01", "02", "01", "03", "02"]  # declared text kept as text
    assert type_extra_columns(df, known_columns={"patient_id"})["code"].tolist() == \
        [1.0, 2.0, 1.0, 3.0, 2.0]


def test_text_in_numeric_looking_column_is_an_error_naming_the_cell():
    df = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "x": ["1", "2", "two", "1,5"]})
    df.attrs["source_rows"] = [2, 3, 5, 6]  # a blank spreadsheet row 4 was skipped
    with pytest.raises(ColumnTypeError) as ei:
        type_extra_columns(df, known_columns={"patient_id"}, source="t.csv")
    err = ei.value
    assert isinstance(err, CohortValidationError) and isinstance(err, InputError)
    got = [(p.row, p.patient_id, p.column, p.value, p.rule) for p in err.problems]
    assert got == [(5, "c", "x", "two", "type_number"), (6, "d", "x", "1,5", "type_number")]
    text = str(err)
    assert "row 5: 'two' (patient c)" in text and "decimal comma" in text
    assert "declare the column text" in text  # the fix for a column that is not a number


def test_declared_number_treats_missing_as_missing_and_rejects_text():
    df = pd.DataFrame({"patient_id": ["a", "b", "c"], "t": ["1.5", "NA", "two"]})
    with pytest.raises(ColumnTypeError, match=r"column 't' is declared number.*row 4: 'two'"):
        type_extra_columns(df, {"t": "number"})
    df = pd.DataFrame({"patient_id": ["a", "b", "c"], "t": ["1.5", "NA", ""]})
    assert type_extra_columns(df, {"t": "number"})["t"].isna().tolist() == [False, True, True]
    # a text-majority column declared number is still checked, cell by cell
    df = pd.DataFrame({"patient_id": ["a", "b", "c"], "t": ["x", "y", "1"]})
    with pytest.raises(ColumnTypeError, match="row 2: 'x'"):
        type_extra_columns(df, {"t": "number"})
    df = pd.DataFrame({"patient_id": ["a", "b"], "t": ["1", "2.5"]})
    with pytest.raises(ColumnTypeError, match=r"\[type_integer\]"):
        type_extra_columns(df, {"t": "integer"})
    df = pd.DataFrame({"patient_id": ["a", "b"], "t": ["１", "٢"]})
    assert type_extra_columns(df, {"t": {"type": "number", "unicode_digits": True}})[
        "t"].tolist() == [1.0, 2.0]
    with pytest.raises(ColumnTypeError, match="non-ASCII digits"):
        type_extra_columns(df, {"t": "number"})


def test_bad_declarations_are_errors_with_did_you_mean():
    df = pd.DataFrame({"patient_id": ["a"], "score": ["1"]})
    with pytest.raises(ColumnTypeError, match="did you mean 'number'"):
        type_extra_columns(df, {"score": "numbr"})
    with pytest.raises(ColumnTypeError, match="did you mean 'score'"):
        type_extra_columns(df, {"scor": "number"})


# ----------------------------------------------------------------------------- files / plans
def _bmt_plan(source, **data):
    return {"plan": "bmt", "data": {"source": str(source), **data},
            "endpoints": {"dfs": {"time": "dfs_days", "event": "dfs_event"}},
            "analyses": [{"id": "cox", "kind": "cox", "endpoint": "dfs",
                          "covariates": ["age", "waiting_days"]}]}


def _bmt_xlsx(path):
    """The bmt CSV as a workbook: numbers as numbers, missing cells blank or text tokens."""
    from openpyxl import Workbook
    raw = pd.read_csv(BMT, dtype=str, keep_default_na=False)
    wb = Workbook()
    ws = wb.active
    ws.title = "bmt"
    ws.append(list(raw.columns))
    for rec in raw.itertuples(index=False):
        row = []
        for v in rec:
            try:
                row.append(float(v) if "." in v and v != "." else int(v))
            except ValueError:
                row.append(None if v == "" else v)
        ws.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bmt_with_missing_cells_cox_matches_r(fmt, tmp_path):
    from aplcohort import run_plan
    src = BMT if fmt == "csv" else _bmt_xlsx(tmp_path / "bmt.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan(_bmt_plan(src), figures=False)
    out = res["cox"]
    terms = out.result.terms
    # one coefficient per covariate: numeric, never one dummy per distinct value
    assert list(terms["term"]) == REF["term"]
    np.testing.assert_allclose(terms["coef"], [float(x) for x in REF["coef"]], rtol=1e-5)
    np.testing.assert_allclose(terms["se"], [float(x) for x in REF["se"]], rtol=1e-5)
    assert out.summary["n"] == REF["n"] and out.summary["events"] == REF["nevent"]
    assert sum(out.summary["dropped"].values()) == REF["n_missing"]


def test_plan_declared_number_error_is_a_plan_error_naming_row_and_patient(tmp_path):
    from aplcohort import run_plan
    p = tmp_path / "b.csv"
    text = open(BMT).read().replace("B003,1496,0,26,", "B003,1496,0,twenty-six,")
    p.write_text(text)
    with pytest.raises(PlanError) as ei:
        run_plan(_bmt_plan(p), figures=False)
    assert ei.value.problems[0].row == 4 and ei.value.problems[0].patient_id == "B003"
    assert "column age" in str(ei.value) and "'twenty-six'" in str(ei.value)


def test_non_ascii_digits_in_dictionary_columns_only_when_the_mapping_declares_them():
    raw = pd.DataFrame({"patient_id": ["a", "b"], "disease": ["APL", "APL"],
                        "last_followup_date": ["２０２０-０１-３１", "2020-02-01"],
                        "wbc_diagnosis": ["١٢.٥", "3"]})
    rep = validate(raw)
    bad = {(p.column, p.rule) for p in rep.errors}
    assert bad == {("last_followup_date", "type_date"), ("wbc_diagnosis", "type_number")}
    assert all("non-ASCII digits" in p.message for p in rep.errors)
    ok = validate(raw, mapping={"unicode_digits": True})
    assert ok.ok
    assert ok.data["wbc_diagnosis"].tolist() == [12.5, 3.0]
    assert str(ok.data["last_followup_date"].iloc[0].date()) == "2020-01-31"
    from aplcohort.cohort import MappingError, load_mapping
    with pytest.raises(MappingError, match="unicode_digits: expected true or false"):
        load_mapping({"unicode_digits": "yes"})


def test_source_rows_survive_copies_but_not_reordering(tmp_path):
    import copy
    from aplcohort.cohort.types import row_numbers_of
    p = tmp_path / "gap.csv"
    p.write_text("patient_id,x\na,1\n\nb,2\nc,3\n")
    from aplcohort.cohort import read_table
    df, _ = read_table(p)
    assert row_numbers_of(df) == [2, 4, 5]
    assert row_numbers_of(copy.deepcopy(df)) == [2, 4, 5]
    assert row_numbers_of(df.sort_values("x", ascending=False)) == [2, 3, 4]  # positions
    assert row_numbers_of(df.iloc[1:]) == [2, 3]
    with pytest.raises(ColumnTypeError, match="row 4: 'two'"):
        type_extra_columns(df.assign(x=["1", "two", "3"]), {"x": "number"})
    # attrs must not get in the way of ordinary pandas use
    pd.concat([df, df])
    df.to_parquet(tmp_path / "x.parquet")


def test_date_columns_outside_the_dictionary():
    df = pd.DataFrame({"patient_id": ["a", "b", "c"],
                       "tx_date": ["2020-01-05", "", "2021-03-01"],
                       "visit": ["2020-01-05", "soon", "2021-03-01"]})
    out = type_extra_columns(df, known_columns={"patient_id"})
    assert str(out["tx_date"].dtype) == "datetime64[ns]" and out["tx_date"].isna().tolist() == \
        [False, True, False]
    assert out["visit"].tolist() == ["2020-01-05", "soon", "2021-03-01"]  # mixed: text
    with pytest.raises(ColumnTypeError, match=r"row 3: 'soon'.*\n?") as ei:
        type_extra_columns(df, {"visit": "date"})
    assert ei.value.problems[0].rule == "type_date" and ei.value.problems[0].patient_id == "b"


def test_categorical_text_columns_are_typed_like_object_columns(tmp_path):
    from aplcohort.cohort import read_table
    p = tmp_path / "c.csv"
    p.write_text("patient_id,x,site\na,1,S1\nb,NA,S2\nc,2.5,.\n")
    raw, _ = read_table(p)
    out = type_extra_columns(raw, known_columns={"patient_id"})
    assert out["x"].tolist()[0] == 1.0 and out["x"].isna().tolist() == [False, True, False]
    assert out["site"].tolist() == ["S1", "S2", None]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_cells = st.one_of(
    st.text(alphabet="0123456789.,_-+eE NAna/１٢", max_size=8),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
    st.booleans(), st.none(), st.sampled_from(["", "NA", ".", "1,200", "1_0", "１２"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(_cells, max_size=30))
def test_vectorised_number_parse_equals_scalar_parse(cells):
    x, miss, bad = parse_numbers(pd.Series(cells, dtype=object))
    for i, v in enumerate(cells):
        assert miss[i] == is_missing(v)
        if miss[i]:
            assert np.isnan(x[i]) and i not in bad
            continue
        f, why = parse_number(v)
        assert bad.get(i) == why
        assert (np.isnan(x[i]) if f is None else x[i] == f)


def test_declaring_a_dictionary_column_another_type_is_an_error():
    df = pd.DataFrame({"patient_id": ["a"], "wbc_diagnosis": [3.5], "score": ["1"]})
    known = {"patient_id", "wbc_diagnosis"}
    out = type_extra_columns(df, {"wbc_diagnosis": "number"}, known_columns=known)
    assert out["wbc_diagnosis"].tolist() == [3.5]  # same type: accepted, unchanged
    with pytest.raises(ColumnTypeError, match="'wbc_diagnosis' text, but it is a data-dictionary "
                                              "column of type number"):
        type_extra_columns(df, {"wbc_diagnosis": "text"}, known_columns=known)
