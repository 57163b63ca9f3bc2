"""SQL sources (issue 18): DuckDB (embedded) and PostgreSQL (a throwaway cluster started
by these tests), the same tests on both; read-only by parsing and by the connection;
credentials only from the environment or a pgpass file.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest

from aplcohort.cohort import load
from aplcohort.cohort.sql import (CredentialsInPlanError, DatabaseError, NotReadOnlyError,
                                  check_select, reject_passwords)
from aplcohort.errors import DataQualityWarning, InputError
from test_sources_build import (PG_PASSWORD, PgCluster, pg_bin, typed_cohort, write_duckdb,
                                write_postgres)

pytest.importorskip("duckdb_engine")


@pytest.fixture(scope="module")
def cluster():
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
                    "apt-get install postgresql (.ci/run does)")
    pytest.importorskip("psycopg")
    c = PgCluster()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    return write_duckdb(typed_cohort(), tmp_path_factory.mktemp("duck") / "registry.duckdb")


@pytest.fixture(scope="module")
def pg_url(cluster):
    return write_postgres(typed_cohort(), cluster, "registry")


@pytest.fixture(params=["duckdb", "postgresql"])
def db(request, monkeypatch, tmp_path_factory):
    """The database URL, with the environment a user would have (PG* variables)."""
    if request.param == "duckdb":
        return request.getfixturevalue("duck")
    cl = request.getfixturevalue("cluster")
    for k, v in cl.env().items():
        monkeypatch.setenv(k, v)
    return request.getfixturevalue("pg_url")


def _load(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(*a, **k)


def test_table_and_query_give_the_cohort(db):
    c = _load(db, table="patients")
    assert c.n == 52 and c.source["format"] in ("duckdb", "postgresql")
    q = _load(db, query="SELECT * FROM patients WHERE reinduction_regimen = 'ATO-based' "
                        "ORDER BY patient_id")
    assert 0 < q.n < 52 and set(q.data["reinduction_regimen"]) == {"ATO-based"}
    assert q.data["relapse1_date"].dtype == "datetime64[ns]"
    v = _load(db, table="clinic.apl")  # schema.table (a view)
    assert v.n == 52


def test_mapping_gives_query(db):
    c = _load(db, mapping={"query": "SELECT * FROM patients WHERE sex = 'F'"})
    assert set(c.data["sex"]) == {"F"}


@pytest.mark.parametrize("sql, word", [
    ("DELETE FROM patients", "DELETE"),
    ("SELECT 1; DROP TABLE patients", "several statements"),
    ("SELECT * INTO x FROM patients", "INTO"),
    ("WITH d AS (DELETE FROM patients RETURNING *) SELECT * FROM d", "DELETE"),
    ("COPY patients TO '/tmp/x.csv'", "COPY"),
    ("ATTACH 'x.duckdb'", "ATTACH"),
    ("PRAGMA version", "PRAGMA"),
    ("SET search_path = x; SELECT 1", "SET"),
    ("SELECT 1 /* unclosed", "not closed"),
])
def test_non_select_rejected_by_parsing(db, sql, word):
    with pytest.raises(NotReadOnlyError, match=word):
        _load(db, query=sql)


def test_keywords_in_strings_and_comments_are_text():
    assert check_select("SELECT * FROM p WHERE note = 'delete; drop' -- update\n") == \
        "SELECT * FROM p WHERE note = 'delete; drop' -- update"


def test_connection_is_read_only(db):
    """Beyond parsing: a function that writes is refused by the database itself."""
    import sqlalchemy as sa

    from aplcohort.cohort.sql import _engine
    eng, kind = _engine(db)
    try:
        with eng.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            with pytest.raises(sa.exc.SQLAlchemyError, match="(?i)read.only"):
                conn.execute(sa.text("CREATE TABLE hacked (x INTEGER)"))
    finally:
        eng.dispose()
    assert _load(db, table="patients").n == 52


def test_bad_table_and_arguments(db):
    with pytest.raises(DatabaseError, match="not a table name"):
        _load(db, table="patients; drop table patients")
    with pytest.raises(DatabaseError, match="refused the table 'nosuch'"):
        _load(db, table="nosuch")
    with pytest.raises(DatabaseError, match="exactly one of"):
        _load(db)
    with pytest.raises(InputError, match="returned no rows"):
        _load(db, query="SELECT * FROM patients WHERE 1 = 0")


def test_password_in_url_plan_or_mapping_rejected(tmp_path):
    with pytest.raises(CredentialsInPlanError, match="PGPASSWORD"):
        load("postgresql://u:secret@localhost/db", table="patients")
    with pytest.raises(InputError, match="password must not be written"):
        load("postgresql:///db", mapping={"table": "patients", "password": "x"})
    with pytest.raises(CredentialsInPlanError, match="contains a password"):
        reject_passwords({"data": {"source": "postgresql://a:b@h/db"}}, "plan")
    from aplcohort.plan.runner import run_plan
    plan = {"data": {"source": "postgresql:///db", "table": "patients", "Password": "x"},
            "analyses": [{"id": "f", "kind": "flow"}]}
    with pytest.raises(CredentialsInPlanError, match="data.Password"):
        run_plan(plan)


def test_postgres_credentials_from_environment_or_pgpass(cluster, pg_url, monkeypatch,
                                                         tmp_path):
    for k in ("PGPASSWORD", "PGPASSFILE", "PGUSER", "PGHOST"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PGHOST", cluster.sock)
    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(DatabaseError, match="(?i)password"):  # no credentials: refused
        _load(pg_url, table="patients")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:postgres:{PG_PASSWORD}\n")
    os.chmod(pgpass, 0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert _load(pg_url, table="patients").n == 52


def test_plan_reads_a_database(db, tmp_path):
    from aplcohort.plan.runner import run_plan
    plan = {"data": {"source": db, "query": "SELECT * FROM patients"},
            "endpoints": {"os": {"endpoint": "OS", "time_zero": "relapse1", "unit": "months"}},
            "analyses": [{"id": "km_os", "kind": "km", "endpoint": "os",
                          "group": "reinduction_regimen"}]}
    res = run_plan(plan, figures=False)
    assert res.provenance["input_file"] == db and len(res.provenance["input_sha256"]) == 64
    ref = run_plan(plan, data=typed_cohort(), figures=False)
    pd.testing.assert_frame_equal(res["km_os"].result.table, ref["km_os"].result.table)


def test_missing_driver_message(monkeypatch, duck):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "duckdb_engine":
            raise ImportError("no")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(DatabaseError, match=r"aplcohort\[duckdb\]"):
        load(duck, table="patients")


def test_string_functions_are_not_keywords():
    assert check_select("SELECT replace(patient_id, 'SYN', 'P') AS patient_id FROM patients")
