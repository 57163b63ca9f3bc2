"""Builders of the same cohort in every source format (used by tests/test_sources_*.py,
tests/test_sql.py and tests/test_redcap.py), each written by the format's own writer:
openpyxl (XLSX), pyarrow (Parquet), pyreadstat (SPSS, Stata, SAS transport), a REDCap
raw export + Data Dictionary in REDCap's documented layout, DuckDB and PostgreSQL
databases created here.

The cohort is the bundled synthetic Min 2022 replica (52 patients), in the typed form
a database or a statistics package would hold it: dates as dates, numbers as numbers,
text as text; some categories stored as labelled integer codes (SPSS/Stata value
labels, REDCap choices) and one user-missing code (SPSS), so that the readers' label
and missing-value handling is exercised by the equality test.
"""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "synthetic" / "min2022.csv"

#: category columns stored as labelled integer codes in SPSS/Stata/REDCap
CODED = ("reinduction_regimen", "postremission_modality", "relapse_type", "sex")
#: the SPSS user-missing code written where wbc_relapse is missing
USER_MISSING = 9999.0


#: Korean centre names (they must survive every format, and the CP949 CSV)
KOREAN_CENTERS = {"Center A": "서울성모병원", "Center B": "여의도성모병원"}
#: patients whose WBC at relapse is made missing (written as the SPSS user-missing code)
WBC_MISSING = ("SYN-003", "SYN-010")


def typed_cohort() -> pd.DataFrame:
    """The replica with dictionary types (dates as ``datetime.date``, numbers float),
    Korean centre names and two missing WBC values."""
    from aplcohort.cohort.schema import load_dictionary
    d = load_dictionary()
    raw = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    out = {}
    for c in raw.columns:
        spec = d.columns.get(c)
        vals = raw[c].tolist()
        if spec is not None and spec.type == "date":
            out[c] = [dt.date.fromisoformat(v) if v else None for v in vals]
        elif spec is not None and spec.type in ("number", "integer"):
            out[c] = [float(v) if v else np.nan for v in vals]
        else:
            out[c] = [v if v else None for v in vals]
    df = pd.DataFrame(out)
    df["center"] = [KOREAN_CENTERS.get(v, v) for v in df["center"]]
    df.loc[df["patient_id"].isin(WBC_MISSING), "wbc_relapse"] = np.nan
    return df


def write_csv(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    """As a spreadsheet program writes it: ISO dates, plain numbers, empty = missing."""
    text = df.to_csv(index=False, lineterminator="\n")
    path.write_bytes(text.encode(encoding))
    return path


def codes_for(df: pd.DataFrame) -> dict:
    """``{column: {code: label}}`` for the coded columns (codes from 1, labels sorted)."""
    return {c: {i + 1: lab for i, lab in enumerate(sorted(df[c].dropna().unique()))}
            for c in CODED}


def _coded(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c, labels in codes_for(df).items():
        inv = {v: k for k, v in labels.items()}
        out[c] = [np.nan if pd.isna(v) else float(inv[v]) for v in df[c]]  # NaN: pandas 3
    return out


def write_xlsx(df: pd.DataFrame, path: Path) -> Path:
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "patients"
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
    wb.save(path)
    return path


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    df.to_parquet(path, index=False)
    return path


def write_sav(df: pd.DataFrame, path: Path) -> Path:
    import pyreadstat
    out = _coded(df)
    out["wbc_relapse"] = out["wbc_relapse"].fillna(USER_MISSING)
    pyreadstat.write_sav(out, str(path), column_labels={"patient_id": "Study patient",
                                                        "wbc_relapse": "WBC at relapse"},
                         variable_value_labels={c: {float(k): v for k, v in m.items()}
                                                for c, m in codes_for(df).items()},
                         missing_ranges={"wbc_relapse": [USER_MISSING]})
    return path


def write_dta(df: pd.DataFrame, path: Path) -> Path:
    import pyreadstat
    pyreadstat.write_dta(_coded(df), str(path),
                         variable_value_labels={c: {int(k): v for k, v in m.items()}
                                                for c, m in codes_for(df).items()})
    return path


# REDCap: the dictionary's columns exactly as REDCap writes them
REDCAP_HEADER = ["Variable / Field Name", "Form Name", "Section Header", "Field Type",
                 "Field Label", "Choices, Calculations, OR Slider Labels", "Field Note",
                 "Text Validation Type OR Show Slider Number", "Text Validation Min",
                 "Text Validation Max", "Identifier?",
                 "Branching Logic (Show field only if...)", "Required Field?",
                 "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
                 "Matrix Ranking?", "Field Annotation"]


def write_redcap(df: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """A REDCap raw export and its Data Dictionary for the cohort (one form, radio fields
    for the coded columns, yesno for the yes/no columns, date_ymd/date_dmy dates)."""
    from aplcohort.cohort.schema import load_dictionary
    d = load_dictionary()
    codes = codes_for(df)
    rows = []
    for c in df.columns:
        spec = d.columns.get(c)
        ftype, choices, val = "text", "", ""
        if c in codes:
            ftype = "radio"
            choices = " | ".join(f"{k}, {v}" for k, v in codes[c].items())
        elif spec is not None and spec.type == "bool":
            ftype = "yesno"
        elif spec is not None and spec.type == "date":
            val = "date_dmy" if c == "death_date" else "date_ymd"
        elif spec is not None and spec.type in ("number", "integer"):
            val = "number"
        rows.append([c, "patient", "", ftype, spec.description if spec else c, choices, "",
                     val, "", "", "", "", "", "", "", "", "", ""])
    dic = folder / "APLRelapse_DataDictionary.csv"
    with open(dic, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        w.writerow(REDCAP_HEADER)
        w.writerows(rows)
    coded = _coded(df)
    export = folder / "APLRelapse_DATA.csv"
    with open(export, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(list(df.columns) + ["patient_complete"])
        for i in range(len(df)):
            out = []
            for c in df.columns:
                v = coded[c].iat[i] if c in codes else df[c].iat[i]
                spec = d.columns.get(c)
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    out.append("")
                elif c in codes:
                    out.append(str(int(v)))
                elif spec is not None and spec.type == "bool":
                    out.append({"yes": "1", "no": "0"}[v])
                elif isinstance(v, dt.date):
                    out.append(v.isoformat())  # raw exports write Y-M-D for every date type
                elif isinstance(v, float):
                    out.append(repr(float(v)) if not v.is_integer() else str(int(v)))
                else:
                    out.append(str(v))
            w.writerow(out + ["2"])
    return export, dic


def _sql_type(spec, kind):
    if spec is not None and spec.type == "date":
        return "DATE"
    if spec is not None and spec.type in ("number", "integer"):
        return "NUMERIC" if kind == "postgresql" else "DOUBLE"
    return "VARCHAR" if kind == "duckdb" else "TEXT"


def create_table_sql(df: pd.DataFrame, kind: str, name: str = "patients") -> str:
    from aplcohort.cohort.schema import load_dictionary
    d = load_dictionary()
    cols = ", ".join(f'"{c}" {_sql_type(d.columns.get(c), kind)}' for c in df.columns)
    return f'CREATE TABLE {name} ({cols})'


def rows_of(df: pd.DataFrame):
    return [tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in r)
            for r in df.itertuples(index=False)]


def write_duckdb(df: pd.DataFrame, path: Path) -> str:
    import duckdb
    con = duckdb.connect(str(path))
    try:
        con.execute(create_table_sql(df, "duckdb"))
        ph = ", ".join("?" for _ in df.columns)
        con.executemany(f"INSERT INTO patients VALUES ({ph})", rows_of(df))
        con.execute("CREATE SCHEMA clinic")
        con.execute("CREATE VIEW clinic.apl AS SELECT * FROM patients WHERE disease = 'APL'")
    finally:
        con.close()
    return f"duckdb:///{path}"


# ---------------------------------------------------------------------------------------
# a throwaway PostgreSQL cluster (initdb into a temporary folder, unix socket there)
# ---------------------------------------------------------------------------------------

PG_PASSWORD = "aplcohort-test-only"


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return cands[-1] if cands else None


class PgCluster:
    """initdb + pg_ctl start on a unix socket in a temporary folder; password auth."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="aplcohort-pg-"))
        self.data = self.dir / "data"
        self.sock = str(self.dir)
        self._as = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            import pwd
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no 'postgres' user to run "
                            "PostgreSQL as")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            runuser = shutil.which("runuser")
            self._as = [runuser, "-u", "postgres", "--"] if runuser else \
                ["su", "postgres", "-s", "/bin/sh", "-c"]
        os.chmod(self.dir, 0o755)
        pwfile = self.dir / "pw"
        pwfile.write_text(PG_PASSWORD + "\n")
        if self._as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A",
                   "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale"])
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l",
                   str(self.dir / "log"), "-o", f"-k {self.sock} -c listen_addresses=''",
                   "start"])
        self.started = True

    def _run(self, cmd):
        if self._as and self._as[0] == "su":
            cmd = self._as + [" ".join(cmd)]
        else:
            cmd = self._as + cmd
        # cwd: the postgres user may not be allowed into the test's working directory
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError(f"{cmd}: {r.stdout}\n{r.stderr}")
        return r

    def env(self) -> dict:
        return {"PGHOST": self.sock, "PGUSER": "postgres", "PGPASSWORD": PG_PASSWORD}

    def stop(self):
        try:
            self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def write_postgres(df: pd.DataFrame, cluster: PgCluster, dbname: str) -> str:
    import psycopg
    env = cluster.env()
    with psycopg.connect(host=env["PGHOST"], user="postgres", password=PG_PASSWORD,
                         dbname="postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        con.execute(f'CREATE DATABASE "{dbname}"')
    with psycopg.connect(host=env["PGHOST"], user="postgres", password=PG_PASSWORD,
                         dbname=dbname, autocommit=True) as con:
        con.execute(create_table_sql(df, "postgresql"))
        ph = ", ".join("%s" for _ in df.columns)
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO patients VALUES ({ph})", rows_of(df))
        con.execute("CREATE SCHEMA clinic")
        con.execute("CREATE VIEW clinic.apl AS SELECT * FROM patients WHERE disease = 'APL'")
    return f"postgresql:///{dbname}"


def test_typed_cohort_is_the_replica():
    df = typed_cohort()
    raw = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    assert df.shape == raw.shape == (52, raw.shape[1])
    assert isinstance(df["relapse1_date"].iat[0], dt.date)
    assert df["wbc_relapse"].dtype == float
