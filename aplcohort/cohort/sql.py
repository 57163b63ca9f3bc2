"""Read a patient table from a SQL database: DuckDB (embedded) or PostgreSQL.

``load("duckdb:///registry.duckdb", table="patients")`` or
``load("postgresql:///registry", query="SELECT * FROM apl.patients WHERE centre = 'SMC'")``.

Through SQLAlchemy (drivers: ``duckdb_engine`` for DuckDB, ``psycopg`` 3 for
PostgreSQL; extras ``aplcohort[duckdb]`` and ``aplcohort[postgres]``). The rows come
back as the database types them (text, numbers, dates), as an .xlsx would, and go
through the same validation as any file.

Read-only, three ways
---------------------
1. The query text is parsed (:func:`check_select`): one statement, starting with
   ``SELECT``, ``WITH`` or ``VALUES``, without any data-changing or session keyword
   outside string literals and comments (``INSERT``, ``UPDATE``, ``DELETE``,
   ``CREATE``, ``DROP``, ``ATTACH``, ``COPY``, ``SET``, ``PRAGMA``, ``INTO``, ...).
   A table name must be an identifier (``schema.table``), quoted by SQLAlchemy.
2. The connection is read-only: DuckDB files are opened with ``read_only=True``;
   PostgreSQL sessions start with ``default_transaction_read_only=on`` and the
   query runs inside ``SET TRANSACTION READ ONLY``.
3. Nothing is committed: the transaction is rolled back.

Credentials
-----------
Only from the environment (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``,
``PGDATABASE``, ``PGSERVICE``...) or a ``~/.pgpass`` / ``PGPASSFILE`` file, which
libpq reads itself. A URL with a password (``postgresql://u:secret@h/db``) is
rejected, and so is a plan or mapping containing a ``password`` key
(:func:`reject_passwords`): plans and mappings travel between centres.
"""

from __future__ import annotations

import decimal
import re

import pandas as pd

from ..errors import InputError

#: URL schemes read as databases.
SCHEMES = ("duckdb", "postgresql", "postgres", "postgresql+psycopg")

_FORBIDDEN = {"insert", "update", "delete", "merge", "upsert", "create", "drop", "alter",
              "truncate", "attach", "detach", "copy", "grant", "revoke", "set", "reset",
              "pragma", "call", "execute", "exec", "do", "install", "load", "export", "import",
              "into", "vacuum", "checkpoint", "lock", "listen", "notify", "begin", "commit",
              "rollback", "savepoint", "prepare", "deallocate", "discard", "refresh",
              "cluster", "reindex"}
# (not "replace": it is also a string function; CREATE OR REPLACE needs CREATE anyway)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


class DatabaseError(InputError):
    """A database source cannot be read (bad URL, query, table, or connection)."""


class NotReadOnlyError(DatabaseError):
    """A query is not a single read-only SELECT."""


class CredentialsInPlanError(DatabaseError):
    """A password was written into a URL, plan or mapping."""


def is_database_url(source) -> bool:
    """Whether ``source`` is a database URL (``duckdb:///...``, ``postgresql://...``).

    Examples
    --------
    >>> is_database_url("duckdb:///x.duckdb"), is_database_url("cohort.csv")
    (True, False)
    """
    if not isinstance(source, str) or "://" not in source:
        return False
    return source.split("://", 1)[0].lower() in SCHEMES


def _tokens(sql: str):
    """Words and ``;`` of a SQL text outside string literals, quoted names and comments."""
    out = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise NotReadOnlyError("query: a /* comment is not closed")
            i = j + 2
        elif ch in "'\"":
            j = i + 1
            while True:
                j = sql.find(ch, j)
                if j < 0:
                    raise NotReadOnlyError(f"query: a {ch} quote is not closed")
                if sql.startswith(ch * 2, j):
                    j += 2
                    continue
                break
            out.append(("quoted", sql[i:j + 1]))
            i = j + 1
        elif ch == "$" and re.match(r"\$[A-Za-z_]*\$", sql[i:]):
            raise NotReadOnlyError("query: dollar-quoted text is not allowed; use '...'")
        elif ch.isalpha() or ch == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_$]*", sql[i:])
            out.append(("word", m.group(0).lower()))
            i += m.end()
        elif ch == ";":
            out.append(("semi", ";"))
            i += 1
        else:
            i += 1
    return out


def check_select(sql) -> str:
    """Check that a query is one read-only ``SELECT``; return it without a final ``;``.

    Raises
    ------
    NotReadOnlyError
        Naming the offending keyword.

    Examples
    --------
    >>> check_select("SELECT * FROM patients WHERE note = 'drop me';")
    "SELECT * FROM patients WHERE note = 'drop me'"
    >>> check_select("DELETE FROM patients")
    Traceback (most recent call last):
    ...
    aplcohort.cohort.sql.NotReadOnlyError: query: must be a single SELECT (or WITH ... SELECT), not DELETE; aplcohort only reads
    """
    if not isinstance(sql, str) or not sql.strip():
        raise NotReadOnlyError(f"query: expected the text of a SELECT, got {sql!r}")
    toks = _tokens(sql)
    while toks and toks[-1][0] == "semi":
        toks.pop()
    words = [t for k, t in toks if k == "word"]
    if not words or words[0] not in ("select", "with", "values", "from", "table"):
        first = words[0].upper() if words else "nothing"
        raise NotReadOnlyError(f"query: must be a single SELECT (or WITH ... SELECT), not "
                               f"{first}; aplcohort only reads")
    if any(k == "semi" for k, _ in toks):
        raise NotReadOnlyError("query: holds several statements (a ';' inside); give one SELECT")
    bad = [w for w in words if w in _FORBIDDEN]
    if bad:
        raise NotReadOnlyError(f"query: the keyword {bad[0].upper()} is not allowed in a "
                               "read-only query (aplcohort only reads: one SELECT, no INTO, "
                               "SET, PRAGMA, COPY, ATTACH or data changes)")
    return sql.strip().rstrip(";").rstrip()


def reject_passwords(obj, where: str) -> None:
    """Raise :class:`CredentialsInPlanError` if a plan/mapping holds a password.

    Any key named like ``password``/``passwd``/``pwd`` (any case), and any database
    URL with a password in it, anywhere in the structure.

    Examples
    --------
    >>> reject_passwords({"data": {"source": "duckdb:///x.duckdb"}}, "plan")
    >>> reject_passwords({"data": {"password": "x"}}, "plan")
    Traceback (most recent call last):
    ...
    aplcohort.cohort.sql.CredentialsInPlanError: plan: data.password: a password must not be written in a plan or mapping (they are shared between centres); set PGPASSWORD in the environment or use a ~/.pgpass file
    """
    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                p = f"{path}.{k}" if path else str(k)
                if re.fullmatch(r"(?i)pass(word|wd)?|pwd|db_?password", str(k)):
                    raise CredentialsInPlanError(
                        f"{where}: {p}: a password must not be written in a plan or mapping "
                        "(they are shared between centres); set PGPASSWORD in the environment "
                        "or use a ~/.pgpass file")
                walk(v, p)
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")
        elif isinstance(x, str) and is_database_url(x) and _url_password(x):
            raise CredentialsInPlanError(
                f"{where}: {path}: the database URL contains a password; remove it and set "
                "PGPASSWORD in the environment or use a ~/.pgpass file")
    walk(obj, "")


def _url_password(url: str) -> bool:
    m = re.match(r"^[^:]+://([^@/]*)@", url)
    return bool(m and ":" in m.group(1))


def _engine(url: str):
    try:
        import sqlalchemy as sa
    except ImportError:
        raise DatabaseError(f"{url.split('://')[0]}: reading a database needs SQLAlchemy; "
                            "install pip install \"aplcohort[duckdb]\" or "
                            "\"aplcohort[postgres]\"") from None
    if _url_password(url):
        raise CredentialsInPlanError(
            "the database URL contains a password; remove it and set PGPASSWORD in the "
            "environment or use a ~/.pgpass file (URLs end up in plans, logs and provenance)")
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "duckdb":
        try:
            import duckdb_engine  # noqa: F401
        except ImportError:
            raise DatabaseError("duckdb:// needs the optional duckdb and duckdb_engine "
                                "packages; install pip install \"aplcohort[duckdb]\"") from None
        path = rest[1:] if rest.startswith("/") else rest
        if path in ("", ":memory:"):
            raise DatabaseError("duckdb: an in-memory database is empty; give the database "
                                "file (duckdb:///path/to/file.duckdb)")
        from pathlib import Path
        if not Path(path).is_file():
            raise DatabaseError(f"duckdb: database file not found: {path}")
        return sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True}), "duckdb"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseError("postgresql:// needs the optional psycopg package; install "
                            "pip install \"aplcohort[postgres]\"") from None
    # credentials, host and port come from the environment / pgpass through libpq
    return sa.create_engine(
        f"postgresql+psycopg://{rest}",
        connect_args={"options": "-c default_transaction_read_only=on"}), "postgresql"


def _cell(v):
    if isinstance(v, decimal.Decimal):  # NUMERIC columns: a number, as in a spreadsheet
        return float(v)
    return v


def read_sql(url: str, *, query: str | None = None, table: str | None = None
             ) -> tuple[pd.DataFrame, dict]:
    """Read a table or a SELECT from a database as a raw table.

    Parameters
    ----------
    url : str
        ``duckdb:///path/file.duckdb`` or ``postgresql:///dbname`` (host, port, user
        and password from the environment or pgpass; never in the URL).
    query : str, optional
        One read-only SELECT (:func:`check_select`).
    table : str, optional
        A table or view name (``schema.table``); exactly one of query/table.

    Returns
    -------
    (DataFrame, dict)
        Cells as the database returns them (NUMERIC as float); info with
        ``format`` (``duckdb``/``postgresql``), ``query`` or ``table``.
    """
    if (query is None) == (table is None):
        raise DatabaseError(f"{_safe(url)}: give exactly one of query= (a SELECT) or table= (a "
                            "table name)")
    if query is not None:
        query = check_select(query)
    engine, kind = _engine(url)  # raises a readable error when the extra is missing
    import sqlalchemy as sa
    if table is not None:
        if not isinstance(table, str) or not _IDENT.match(table):
            raise DatabaseError(f"table: {table!r} is not a table name (letters, digits, _; "
                                "optionally schema.table)")
        parts = table.split(".")
        tbl = sa.table(parts[-1], schema=parts[0] if len(parts) == 2 else None)
        stmt = sa.select(sa.text("*")).select_from(tbl)
        what = {"table": table}
    else:
        stmt = sa.text(query)
        what = {"query": query}
    try:
        with engine.connect() as conn:
            if kind == "postgresql":
                conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            res = conn.execute(stmt)
            cols = [str(c) for c in res.keys()]
            rows = [[_cell(v) for v in r] for r in res.fetchall()]
            conn.rollback()
    except sa.exc.SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"{_safe(url)}: the database refused the "
                            f"{'query' if query is not None else 'table ' + repr(table)} "
                            f"({detail})") from None
    finally:
        engine.dispose()
    from .io import EmptyFileError, _check_duplicate_headers
    _check_duplicate_headers(_safe(url), cols)
    df = pd.DataFrame(rows, columns=cols, dtype=object) if rows else \
        pd.DataFrame(columns=cols, dtype=object)
    if len(df) == 0:
        raise EmptyFileError(f"{_safe(url)}: the {'query' if query is not None else 'table'} "
                             "returned no rows")
    df = df.astype(object).where(pd.notna(df), None)
    return df, {"format": kind, **what}


def _safe(url: str) -> str:
    return re.sub(r"^([^:]+://)[^@/]*@", r"\1", url)
