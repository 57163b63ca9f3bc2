"""Review 9, part C: a plan's DuckDB query cannot read local files (F5); DuckDB file paths
in a plan are read from the plan's folder, and a plan run's validation report names the file
(F11); adjust messages and notes show group values, not numpy reprs (F9); propensity_score
takes one covariate name as a string and checks max_iter (F10).
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aplcohort.cohort import load
from aplcohort.cohort.sql import DatabaseError, NotReadOnlyError, check_select
from aplcohort.errors import DataQualityWarning, InputError

ROOT = Path(__file__).resolve().parents[1]
NP_REPR = re.compile(r"np\.(int|float|str|bool)")


# ---------------------------------------------------------------- F5, F11: DuckDB
@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    pytest.importorskip("duckdb_engine")
    from test_sources_build import typed_cohort, write_duckdb
    folder = tmp_path_factory.mktemp("reg") / "data"
    folder.mkdir()
    path = write_duckdb(typed_cohort(), folder / "reg.duckdb")
    secret = folder / "secret.txt"
    secret.write_text("the-secret-content\n")
    return path, secret


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


FILE_QUERIES = [
    "SELECT p.*, (SELECT content FROM read_text('{f}')) AS site_note FROM patients p",
    "SELECT * FROM read_csv_auto('{f}')",
    "SELECT * FROM read_csv('{f}', header = false)",
    "SELECT * FROM glob('{d}/*')",
    "SELECT * FROM read_blob('{f}')",
    "SELECT * FROM \"read_text\" ('{f}')",
    "SELECT * FROM '{f}'",
    "SELECT * FROM patients p JOIN '{f}' x ON true",
    "SELECT * FROM query('SELECT * FROM read_text(''{f}'')')",
]


@pytest.mark.parametrize("sql", FILE_QUERIES)
def test_f5_file_reading_queries_are_refused(duck, sql):
    url, secret = duck
    q = sql.format(f=secret, d=secret.parent)
    with pytest.raises(InputError) as ei:
        _load(url, query=q)
    msg = str(ei.value)
    assert "not allowed" in msg or "reads a file" in msg
    assert "the-secret-content" not in msg and "\n" not in msg


def test_f5_connection_refuses_files_whatever_the_parser_lets_through(duck, monkeypatch):
    """The guard is the connection: with the parser bypassed, DuckDB itself refuses, with
    one readable sentence, and the configuration cannot be switched back on."""
    import sqlalchemy as sa

    from aplcohort.cohort import sql as sqlmod
    url, secret = duck
    eng, kind = sqlmod._engine(url)
    try:
        with eng.connect() as conn:
            for q in (f"SELECT * FROM read_text('{secret}')", f"SELECT * FROM '{secret}'",
                      "SET enable_external_access = true", "INSTALL httpfs",
                      f"ATTACH '{secret.parent / 'other.duckdb'}' AS o"):
                with pytest.raises(sa.exc.SQLAlchemyError):
                    conn.execute(sa.text(q))
                conn.rollback()
            assert conn.execute(sa.text("SELECT count(*) FROM patients")).scalar() == 52
    finally:
        eng.dispose()
    monkeypatch.setattr(sqlmod, "check_select", lambda q: q)
    with pytest.raises(DatabaseError, match="outside the database file") as ei:
        _load(url, query=f"SELECT content FROM read_text('{secret}')")
    assert "the-secret-content" not in str(ei.value)


def test_f5_normal_select_still_works(duck):
    url, _ = duck
    c = _load(url, query="SELECT * FROM patients WHERE reinduction_regimen = 'ATO-based'")
    assert 0 < c.n < 52
    assert _load(url, table="patients").n == 52
    # ordinary functions and names that only look like the refused ones
    assert check_select("SELECT replace(patient_id, 'SYN', 'P') AS pid, "
                        "coalesce(center, 'x') AS query_note, lower(sex) FROM patients")
    assert check_select('SELECT "glob", read_count FROM t WHERE note = \'read_text(x)\'')


@pytest.mark.parametrize("sql, name", [
    ("SELECT pg_read_file('/etc/hostname')", "pg_read_file"),
    ("SELECT * FROM pg_catalog.pg_ls_dir('/etc')", "pg_ls_dir"),
    ("SELECT lo_import('/etc/hostname')", "lo_import"),
    ("SELECT set_config('transaction_read_only', 'off', true)", "set_config"),
    ("SELECT query_to_xml('select 1', true, false, '')", "query_to_xml"),
    ("SELECT * FROM dblink('host=x', 'select 1') AS t(a int)", "dblink"),
    ("SELECT pg_reload_conf()", "pg_reload_conf"),
])
def test_f5_postgres_server_functions_refused_by_name(sql, name):
    with pytest.raises(NotReadOnlyError, match=rf"function {name}\(\) is not allowed"):
        check_select(sql)


def _cli(args, cwd):
    import os
    import aplcohort
    env = {**os.environ, "PYTHONPATH": str(Path(aplcohort.__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "aplcohort.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_f5_plan_and_validate_exit_2_without_the_file_content(duck, tmp_path):
    url, secret = duck
    plan = tmp_path / "p.yaml"
    plan.write_text(f'data:\n  source: {url}\n  query: "SELECT p.*, (SELECT content FROM '
                    f"read_text('{secret}')) AS site_note FROM patients p\"\n"
                    "analyses:\n  - {id: cnt, kind: counts, columns: [site_note]}\n")
    r = _cli(["run", str(plan), "--out", str(tmp_path / "out")], tmp_path)
    assert r.returncode == 2, r.stderr
    assert "read_text() is not allowed" in r.stderr + r.stdout
    assert not (tmp_path / "out").exists()
    r = _cli(["validate", url, "--query", f"SELECT * FROM read_csv_auto('{secret}')"],
             tmp_path)
    assert r.returncode == 2 and "read_csv_auto() is not allowed" in r.stderr + r.stdout
    assert "the-secret-content" not in r.stderr + r.stdout


def test_f11_duckdb_path_relative_to_the_plan(duck, tmp_path):
    from aplcohort.plan.runner import run_plan
    url, _ = duck
    db = Path(url.split(":///", 1)[1])
    plans = db.parent.parent / "plans"
    plans.mkdir(exist_ok=True)
    plan = plans / "p.yaml"
    plan.write_text("data:\n  source: duckdb:///../data/reg.duckdb\n  table: patients\n"
                    "analyses:\n  - {id: f, kind: flow}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_plan(plan, figures=False)   # the current folder is not the plan's
    assert res.cohort.n == 52
    bad = plans / "bad.yaml"
    bad.write_text("data:\n  source: duckdb:///../nodata/reg.duckdb\n  table: patients\n"
                   "analyses:\n  - {id: f, kind: flow}\n")
    with pytest.raises(DatabaseError) as ei:
        run_plan(bad, figures=False)
    msg = str(ei.value)
    assert "database file not found" in msg
    assert str(plans.parent / "nodata" / "reg.duckdb") in msg   # the path looked for


def test_f11_validation_header_names_the_file(tmp_path):
    """A plan without date-based endpoints reads a generic table: its validation report
    names the file, as `aplcohort validate` does."""
    from aplcohort.errors import CohortValidationError
    from aplcohort.plan.runner import run_plan
    csv = tmp_path / "bad.csv"
    csv.write_text("patient_id,t,e,relapse1_date\nP1,5,1,2020-02-31\nP2,6,0,2020-01-01\n")
    plan = tmp_path / "p.yaml"
    plan.write_text("data: {source: bad.csv}\n"
                    "endpoints: {os: {time: t, event: e}}\n"
                    "analyses:\n  - {id: km, kind: km, endpoint: os}\n")
    with pytest.raises(CohortValidationError) as ei:
        run_plan(plan, figures=False)
    first = str(ei.value).splitlines()[0]
    assert "bad.csv" in first and "data frame" not in first


# ---------------------------------------------------------------- F9, F10: adjust API
@pytest.fixture(scope="module")
def d01():
    """The bundled replica with a 0/1 treatment column (ATO-based = 1, IC = 0)."""
    df = pd.read_csv(ROOT / "data" / "synthetic" / "min2022.csv")
    df = df[df["reinduction_regimen"].isin(["ATO-based", "IC"])].copy()
    df["trt"] = (df["reinduction_regimen"] == "ATO-based").astype(np.int64)
    rng = np.random.default_rng(7)
    df["os"] = rng.exponential(30, len(df))
    df["death"] = rng.integers(0, 2, len(df))
    df["age_at_diagnosis"] = df["age_at_diagnosis"].astype(float)
    return df.set_index("patient_id")


def test_f9_group_values_are_plain_in_messages_and_notes(d01):
    from aplcohort.adjust import (PositivityError, match_nearest, propensity_score,
                                  psweights, weighted_logrank)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        ps = propensity_score(d01, "trt", ["age_at_diagnosis"])
        assert ps.groups == (0, 1) and type(ps.groups[0]) is int
        att = psweights(ps, "ATT")
        trim = psweights(ps, "ATE", trim=0.3)
        m = match_nearest(ps, caliper=0.001)
        lr = weighted_logrank(d01, "os", "death", "trt", psweights(ps, "ATE"))
    texts = [str(w.message) for w in ws] + list(att.notes) + list(m.notes) + \
        trim.excluded["reason"].astype(str).tolist() + [repr(lr), str(lr), str(ps.choices),
                                                         repr(att.focal)]
    assert texts and not any(NP_REPR.search(t) for t in texts), texts
    assert any("trimmed: propensity score of group" in t for t in texts)
    assert any("(group 1) have no match" in t for t in texts)
    assert "groups: [0, 1]" in str(lr)
    d2 = d01.assign(c=np.where(d01["trt"] == 1, "x", d01["center"]))
    with pytest.raises(PositivityError) as ei:
        propensity_score(d2, "trt", ["c"])
    assert "no patient of group(s) [1]" in str(ei.value) and not NP_REPR.search(str(ei.value))
    with pytest.raises(InputError) as ei:
        psweights(ps, "ATT", focal=np.int64(5))
    assert str(ei.value) == "focal group 5 is not one of [0, 1]"


def test_f10_one_covariate_name_is_one_column(d01):
    from aplcohort.adjust import balance, propensity_score
    a = propensity_score(d01, "trt", "age_at_diagnosis")
    b = propensity_score(d01, "trt", ["age_at_diagnosis"])
    assert a.covariates == ("age_at_diagnosis",)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert balance(d01, "trt", "age_at_diagnosis").table["covariate"].unique().tolist() == \
        ["age_at_diagnosis"]
    with pytest.raises(InputError, match="covariates= takes column names"):
        propensity_score(d01, "trt", d01["age_at_diagnosis"])


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10", True])
def test_f10_max_iter_checked(d01, bad):
    from aplcohort.adjust import propensity_score
    with pytest.raises(InputError, match=r"max_iter must be an integer >= 1"):
        propensity_score(d01, "trt", ["age_at_diagnosis"], max_iter=bad)


def test_f10_iteration_limit_is_not_called_separation(d01):
    from aplcohort.adjust import PositivityError, propensity_score
    with pytest.raises(PositivityError) as ei:
        propensity_score(d01, "trt", ["age_at_diagnosis", "wbc_relapse"], max_iter=1)
    msg = str(ei.value)
    assert "max_iter=1" in msg and "iteration limit" in msg and "separation" not in msg
    # a real quasi-separation still says so
    d3 = d01.copy()
    d3["x"] = np.where(d3["trt"] == 1, 5.0, 0.0)
    d3.iloc[0, d3.columns.get_loc("x")] = 0.0
    with pytest.raises(PositivityError, match="separation"):
        propensity_score(d3, "trt", ["x"])
