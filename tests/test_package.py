"""The top-level package: lazy public names, lean import."""

import subprocess
import sys

import aplcohort


def test_import_does_not_load_heavy_modules():
    # `import aplcohort` must not pull in scipy.stats, pandas or matplotlib (issue 13);
    # checked by module presence, not by timing.
    code = ("import sys, aplcohort; "
            "print(','.join(m for m in ('scipy.stats', 'pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_names_resolve_to_the_public_functions():
    from aplcohort.cohort import load
    from aplcohort.plan import run_plan
    from aplcohort.stats.km import kaplan_meier
    assert aplcohort.run_plan is run_plan
    assert aplcohort.load is load
    assert aplcohort.kaplan_meier is kaplan_meier
    for name in aplcohort.__all__:
        assert getattr(aplcohort, name) is not None


def test_unknown_name_is_an_attribute_error():
    import pytest
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        aplcohort.nope  # noqa: B018


# --- lean install (issue 13): each optional feature names its extra when it is missing ------
# A module set to None in sys.modules makes `import` raise ImportError, as if not installed.

import pytest  # noqa: E402

from aplcohort.errors import InputError  # noqa: E402


def _missing(monkeypatch, *names):
    for name in names:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, mod)
        monkeypatch.setitem(sys.modules, name, None)


def test_parquet_without_pyarrow_names_the_extra(monkeypatch, tmp_path):
    from aplcohort.cohort.io import read_table
    p = tmp_path / "cohort.parquet"
    p.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    _missing(monkeypatch, "pyarrow")
    with pytest.raises(InputError, match=r"pip install \"aplcohort\[parquet\]\""):
        read_table(p)


def test_spss_without_pyreadstat_names_the_extra(monkeypatch, tmp_path):
    from aplcohort.cohort.io import read_table
    p = tmp_path / "cohort.sav"
    p.write_bytes(b"$FL2" + b"\0" * 60)
    _missing(monkeypatch, "pyreadstat")
    with pytest.raises(InputError, match=r"pip install \"aplcohort\[stats-files\]\""):
        read_table(p)


@pytest.mark.parametrize("missing, url, extra", [
    ("sqlalchemy", "duckdb:///x.duckdb", "duckdb"),
    ("duckdb_engine", "duckdb:///x.duckdb", "duckdb"),
    ("psycopg", "postgresql:///db", "postgres"),
])
def test_database_without_its_driver_names_the_extra(monkeypatch, missing, url, extra):
    from aplcohort.cohort.sql import read_sql
    _missing(monkeypatch, missing)
    with pytest.raises(InputError, match=rf"pip install \"aplcohort\[{extra}\]\""):
        read_sql(url, table="patients")


def test_redcap_api_without_pycap_names_the_extra(monkeypatch):
    from aplcohort.cohort.redcap import read_redcap_api
    _missing(monkeypatch, "redcap")
    with pytest.raises(InputError, match=r"pip install \"aplcohort\[redcap\]\""):
        read_redcap_api("https://redcap.example.org/api/", token="x")


def test_dask_sweep_without_distributed_names_the_extra_and_auto_runs_in_process(monkeypatch):
    from aplcohort.batch.sweep import power_sweep
    _missing(monkeypatch, "distributed", "dask")
    sc = {"name": "toy", "n": 40, "arms": {"A": {"ratio": 1}, "B": {"ratio": 1}},
          "events": {"death": {"model": "exponential", "median": 6,
                               "arms": {"B": {"median": 12}}}}}
    with pytest.raises(InputError, match=r"pip install 'aplcohort\[dask\]'"):
        power_sweep([sc], [20], reps=10, scheduler="local")
    df = power_sweep([sc], [20], reps=10, scheduler="auto")
    assert df.attrs["executor"] == "in-process"
    assert df.attrs["executor_reason"] == "auto: dask.distributed not installed"


def test_runtime_dependencies_are_what_the_package_imports():
    """pyproject's runtime dependencies == the third-party modules aplcohort imports outside
    the guarded optional features (each of which names its extra)."""
    import ast
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    meta = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
                for d in meta["dependencies"]}
    # distribution name -> import name
    dist_to_module = {"pyyaml": "yaml", "python-docx": "docx", "charset-normalizer":
                      "charset_normalizer", "pillow": "PIL"}
    optional = {"pyarrow": "parquet", "pyreadstat": "stats-files", "sqlalchemy": "duckdb",
                "duckdb_engine": "duckdb", "psycopg": "postgres", "redcap": "redcap",
                "distributed": "dask"}
    imported = set()
    for p in (root / "aplcohort").rglob("*.py"):
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                     [n.module] if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "aplcohort":
                    imported.add("matplotlib" if top == "mpl_toolkits" else top)
    runtime = imported - set(optional)
    assert {dist_to_module.get(d, d) for d in declared} == runtime
    extras = set(meta["optional-dependencies"])
    assert set(optional.values()) <= extras
    for heavy in ("jupyter", "pyarrow", "lifelines", "dask", "scikit-survival"):
        assert not any(d.lower().startswith(heavy) for d in meta["dependencies"]), heavy
