"""Every source through one path (issue 18): the same cohort as CSV, XLSX, Parquet, SPSS,
Stata, a REDCap export, DuckDB, PostgreSQL and a DataFrame gives identical validated
cohorts and identical results.json (parsed, the source's path and hash in the
provenance aside).

Fixtures are written by each format's own writer (tests/test_sources_build.py); the
PostgreSQL cluster is started by the tests (skipped, saying why, only when the
PostgreSQL server binaries are absent).
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
import yaml

from aplcohort.cohort import load
from aplcohort.errors import DataQualityWarning
from test_sources_build import (KOREAN_CENTERS, ROOT, PgCluster, pg_bin, typed_cohort,
                                write_csv, write_dta, write_duckdb, write_parquet,
                                write_postgres, write_redcap, write_sav, write_xlsx)

pytest.importorskip("pyreadstat")
pytest.importorskip("duckdb_engine")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sources")
    df = typed_cohort()
    out = {"csv": (str(write_csv(df, tmp / "c.csv")), {}),
           "xlsx": (str(write_xlsx(df, tmp / "c.xlsx")), {}),
           "parquet": (str(write_parquet(df, tmp / "c.parquet")), {}),
           "spss": (str(write_sav(df, tmp / "c.sav")), {}),
           "stata": (str(write_dta(df, tmp / "c.dta")), {}),
           "duckdb": (write_duckdb(df, tmp / "c.duckdb"), {"table": "patients"}),
           "cp949": (str(write_csv(df, tmp / "c_cp949.csv", "cp949")), {}),
           "utf16": (str(write_csv(df, tmp / "c_utf16.csv", "utf-16")), {})}
    export, dic = write_redcap(df, tmp)
    out["redcap"] = (str(export), {"redcap_dictionary": str(dic)})
    cluster = None
    if pg_bin("initdb") and pg_bin("pg_ctl"):
        pytest.importorskip("psycopg")
        cluster = PgCluster()
        out["postgresql"] = (write_postgres(df, cluster, "equality"), {"table": "patients"})
        out["_pgenv"] = cluster.env()
    yield out
    if cluster is not None:
        cluster.stop()


@pytest.fixture
def pg_session_env(sources, monkeypatch):
    """PGHOST/PGUSER/PGPASSWORD of the throwaway cluster: credentials from the environment
    only, never in the URL, plan or mapping."""
    for k, v in sources.get("_pgenv", {}).items():
        monkeypatch.setenv(k, v)
    return sources


def _load(src, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load(src, **kw)


SOURCES = ["xlsx", "parquet", "spss", "stata", "redcap", "duckdb", "postgresql", "cp949",
           "utf16"]


@pytest.mark.parametrize("name", SOURCES)
def test_same_validated_cohort(sources, name, pg_session_env):
    if name not in sources:
        pytest.skip(f"{name}: PostgreSQL server binaries are not installed")
    ref = _load(*sources["csv"])
    got = _load(*sources[name])
    pd.testing.assert_frame_equal(got.data, ref.data)
    assert [str(w) for w in got.warnings] == [str(w) for w in ref.warnings]
    assert set(KOREAN_CENTERS.values()) <= set(got.data["center"])
    if name in ("cp949", "utf16"):
        assert got.source["encoding"] == {"cp949": "cp949", "utf16": "utf-16"}[name]


def test_dataframe_source_same_cohort(sources):
    ref = _load(*sources["csv"])
    got = _load(typed_cohort(), {})
    pd.testing.assert_frame_equal(got.data, ref.data)


def test_spss_user_missing_recorded(sources):
    c = _load(*sources["spss"])
    um = c.source["user_missing"]
    ref = _load(*sources["csv"])
    n_missing = int(ref.data["wbc_relapse"].isna().sum())
    assert n_missing > 0 and len(um) == n_missing
    assert {u["column"] for u in um} == {"wbc_relapse"} and um[0]["value"] == "9999"
    assert [u["row"] for u in um] == [int(i) + 2 for i in
                                      ref.data.index[ref.data["wbc_relapse"].isna()]]
    assert any("user-missing" in n for n in c.source["notes"])
    assert c.source["variable_labels"]["wbc_relapse"] == "WBC at relapse"
    assert "reinduction_regimen" in c.source["value_labels_applied"]


def _small_plan():
    plan = yaml.safe_load((ROOT / "aplcohort" / "plan" / "plans" / "min2022.yaml")
                          .read_text(encoding="utf-8"))
    keep = {"flow", "table1_reinduction", "mcr2_by_reinduction"}
    kinds_seen = set()
    analyses = []
    for a in plan["analyses"]:
        if a["id"] in keep or (a["kind"] in ("km", "cif", "cox") and a["kind"] not in kinds_seen
                               and "landmark" not in a["id"]):
            kinds_seen.add(a["kind"])
            analyses.append(a)
    plan["analyses"] = analyses
    plan.pop("plan", None)
    return plan


def _results(res) -> dict:
    from aplcohort.plan.write import write_outputs  # noqa: F401 (the writer is what users see)
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        write_outputs(res, Path(tmp) / "out")
        return json.loads((Path(tmp) / "out" / "results.json").read_text(encoding="utf-8"))


def _strip(d):
    """results.json without what names the source (path, hash, format)."""
    d = json.loads(json.dumps(d))
    for k in ("provenance", "generated", "run"):
        d.pop(k, None)
    return d


def test_same_results_json(sources, pg_session_env):
    from aplcohort.plan.runner import run_plan
    plan = _small_plan()
    assert len(plan["analyses"]) >= 4
    ref = _strip(_results(run_plan(plan, data=sources["csv"][0], figures=False)))
    for name in SOURCES:
        if name not in sources:
            continue
        src, kw = sources[name]
        res = run_plan(plan, data=src, figures=False, **({"mapping": kw} if kw else {}))
        assert _strip(_results(res)) == ref, name
