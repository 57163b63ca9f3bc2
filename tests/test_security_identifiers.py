"""Identifiers never leave: identifying columns refused in plan roles, dates kept out of warnings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aplcohort.cli import main
from aplcohort.errors import PlanError
from aplcohort.plan.identifiers import check_identifiers, looks_identifying, redact_dates

ROOT = Path(__file__).resolve().parents[1]

IDENTIFYING = {
    "name": "name", "Name": "name", "patient_name": "name", "PatientName": "name",
    "Last Name": "name", "surname": "name", "initials": "name", "환자 이름": "name", "성명": "name",
    "MRN": "medical record number", "mrn_no": "medical record number",
    "Medical Record Number": "medical record number", "chart_no": "medical record number",
    "Hospital No.": "hospital number", "hospital_number": "hospital number",
    "등록번호": "hospital number", "phone": "phone number", "Tel.": "phone number",
    "mobile_phone": "phone number", "PhoneNumber": "phone number", "연락처": "phone number",
    "address": "address", "Zip code": "address", "주소": "address",
    "birth_date": "birth date", "DOB": "birth date", "DateOfBirth": "birth date",
    "Birthdate": "birth date", "생년월일": "birth date",
    "RRN": "resident registration number",
    "resident registration number": "resident registration number",
    "주민등록번호": "resident registration number", "email": "e-mail address",
}
NOT_IDENTIFYING = ["center", "centre_name", "drug_name", "sex", "age", "wbc_relapse", "telomere",
                   "nameless", "response", "mail_date", "death_date", "reinduction_regimen",
                   "patient_id", "hospital", "postremission_modality"]


@pytest.mark.parametrize("col,what", sorted(IDENTIFYING.items()))
def test_identifying_names_recognised(col, what):
    assert looks_identifying(col) == what


@pytest.mark.parametrize("col", NOT_IDENTIFYING)
def test_ordinary_columns_not_flagged(col):
    assert looks_identifying(col) is None


def test_check_identifiers_roles():
    plan = {"analyses": [
        {"id": "c", "kind": "counts", "columns": ["name", "sex"]},
        {"id": "k", "kind": "km", "endpoint": "os", "group": "MRN"},
        {"id": "t", "kind": "table1", "group": "arm", "variables": ["age", "phone"]},
        {"id": "x", "kind": "cox", "endpoint": "os", "covariates": ["DOB", "age"]},
        {"id": "s", "kind": "swimmer", "color_by": "전화번호"},
        {"id": "d", "kind": "counts", "columns": ["death_date"]},
        {"id": "m", "kind": "simon_makuch", "exposure": "hsct_start_date"},
        {"id": "b", "kind": "table1", "variables": ["birth_date"]},
    ]}
    problems = check_identifiers(plan)
    joined = "\n".join(problems)
    assert len(problems) == 7, joined
    assert "analysis 'c': column 'name' looks like a name and would be printed as a count " \
           "variable" in joined
    assert "analysis 'k': column 'MRN' looks like a medical record number" in joined
    assert "analysis 'x': column 'DOB' looks like a birth date and would be printed as a " \
           "covariate" in joined
    assert "analysis 'd': column 'death_date' is a per-patient date" in joined
    assert "analysis 'b': column 'birth_date' looks like a birth date" in joined
    assert "'hsct_start_date'" not in joined  # an exposure time is not printed per patient
    assert "allow_identifiers: true" in problems[0]
    assert check_identifiers({**plan, "allow_identifiers": True}) == []
    assert check_identifiers({**plan, "allow_identifiers": "yes"}) == \
        ["allow_identifiers must be true or false, not 'yes'"]
    # with the data's columns: only real columns are checked
    assert len(check_identifiers(plan, ["sex", "arm", "age", "name"])) == 1


def test_bundled_min2022_plan_uses_no_identifier():
    plan = yaml.safe_load((ROOT / "aplcohort/plan/plans/min2022.yaml").read_text(encoding="utf-8"))
    assert check_identifiers(plan) == []


def _data(tmp_path):
    rng = np.random.default_rng(3)
    n = 20
    df = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(n)],
                       "name": [f"Kim Minji {i}" for i in range(n)],
                       "arm": np.repeat(["A", "B"], n // 2),
                       "t": np.round(rng.exponential(10, n), 1) + 0.1,
                       "d": rng.integers(0, 2, n)})
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    return p


def test_counts_by_name_is_refused_and_nothing_written(tmp_path, capsys):
    data = _data(tmp_path)
    plan = {"plan": "p", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "d"}},
            "analyses": [{"id": "who", "kind": "counts", "columns": ["name"]}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "column 'name' looks like a name" in err and "Kim Minji" not in err
    assert not out.exists()


def test_allow_identifiers_lets_the_author_decide(tmp_path):
    from aplcohort.plan import run_plan
    from aplcohort.plan.write import write_outputs
    data = _data(tmp_path)
    plan = {"plan": "p", "data": {"source": str(data)},
            "endpoints": {"os": {"time": "t", "event": "d"}},
            "analyses": [{"id": "who", "kind": "counts", "columns": ["name"]}]}
    # refused before anything runs (plan validation) ...
    with pytest.raises(PlanError, match="column 'name' looks like a name"):
        run_plan(plan, figures=False, out=tmp_path / "o0")
    assert not (tmp_path / "o0").exists()
    res = run_plan({**plan, "allow_identifiers": True}, figures=False)
    # ... and again where files are written, whatever the validator did
    res.plan["allow_identifiers"] = False
    with pytest.raises(PlanError, match="column 'name' looks like a name"):
        write_outputs(res, tmp_path / "o1")
    assert not (tmp_path / "o1").exists()
    res.plan["allow_identifiers"] = True
    write_outputs(res, tmp_path / "o2")
    assert "Kim Minji 3" in (tmp_path / "o2" / "tables" / "who__counts.csv").read_text()


def test_redact_dates():
    assert redact_dates("death_date '2015-03-04' is after data_cutoff_date 2014-12-31") == \
        "death_date '<date withheld>' is after data_cutoff_date <date withheld>"
    assert redact_dates("born 04/03/1961 or 1961.03.04, at 2015-03-04T10:22") == \
        "born <date withheld> or <date withheld>, at <date withheld>"
    assert redact_dates("median delay 2.743 months; 18 of 18 patients; p=0.05") == \
        "median delay 2.743 months; 18 of 18 patients; p=0.05"


def test_report_and_results_carry_no_per_patient_date(tmp_path):
    """A data warning naming a patient's death date reaches neither report.html nor results.json."""
    from aplcohort.plan import run_plan
    from aplcohort.plan.write import write_outputs
    df = pd.read_csv(ROOT / "data/synthetic/min2022.csv", dtype=str)
    i = int(np.flatnonzero(df["death_date"].notna().to_numpy())[0])
    death = df.loc[i, "death_date"]
    df.loc[i, "last_followup_date"] = str((pd.Timestamp(death) - pd.Timedelta(days=3)).date())
    data = tmp_path / "c.csv"
    df.to_csv(data, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan("min2022", data=data, figures=False)
    assert any(death in w for w in res.warnings), res.warnings[:3]  # the warning names it ...
    write_outputs(res, tmp_path / "o")
    for name in ("report.html", "results.json"):
        text = (tmp_path / "o" / name).read_text(encoding="utf-8")
        assert death not in text, name                                # ... the outputs do not
        assert "<date withheld>" in text or "&lt;date withheld&gt;" in text
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    assert any(df.loc[i, "patient_id"] in w for w in doc["warnings"])  # the row is still named
