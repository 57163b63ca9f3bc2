"""Read a patient table from a SQL database: DuckDB (embedded) or PostgreSQL.

``load("duckdb:///registry.duckdb", table="patients")`` or
``load("postgresql:///registry", query="SELECT * FROM apl.patients WHERE centre = 'SMC'")``.

Through SQLAlchemy (drivers: ``duckdb_engine`` for DuckDB, ``psycopg`` 3 for
PostgreSQL; extras ``aplcohort[duckdb]`` and ``aplcohort[postgres]``). The rows come
back as the database types them (text, numbers, dates), as an .xlsx would, and go
through the same validation as any file.

Read-only, and only the named database, three ways
--------------------------------------------------
1. The query text is parsed (:func:`check_select`): one statement, starting with
   ``SELECT``, ``WITH`` or ``VALUES``, without any data-changing or session keyword
   outside string literals and comments (``INSERT``, ``UPDATE``, ``DELETE``,
   ``CREATE``, ``DROP``, ``ATTACH``, ``COPY``, ``SET``, ``PRAGMA``, ``INTO``, ...),
   without a call to a function that reaches beyond the database's tables (files:
   DuckDB's ``read_csv``/``read_text``/``glob``/..., PostgreSQL's ``pg_read_file``/
   ``pg_ls_dir``/``lo_import``; other databases: ``*_scan``, ``dblink``; SQL given as
   text: ``query()``, ``query_to_xml``; settings and server control: ``set_config``,
   ``pg_reload_conf``, ...; :data:`_FORBIDDEN_CALL`), and without a quoted file name
   after ``FROM``/``JOIN`` (DuckDB reads ``FROM 'x.csv'`` as a file).
   A table name must be an identifier (``schema.table``), quoted by SQLAlchemy.
2. The connection is read-only and closed to the outside: DuckDB files are opened
   with ``read_only=True`` and external access disabled (:data:`DUCKDB_CONFIG`: no
   file, URL, other database, extension or Python variable can be read, whatever
   the query says, and the query cannot turn it back on); PostgreSQL sessions start
   with ``default_transaction_read_only=on`` and the query runs inside ``SET
   TRANSACTION READ ONLY``. What else a PostgreSQL query can reach is what the
   connecting role may do: use a role with ``SELECT`` on the cohort tables only
   (not a superuser, not in ``pg_read_server_files``), see docs/security.md.
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
import os
import re
from pathlib import Path

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

#: Functions a query may not call (a name followed by ``(``): they reach beyond the
#: tables of the named database -- files (DuckDB's readers, PostgreSQL's server-file and
#: large-object functions), other databases, SQL given as text, settings and server
#: control. DuckDB's connection refuses the file and database ones anyway
#: (:data:`DUCKDB_CONFIG`); the list gives a readable message first, and is what stands
#: for PostgreSQL besides the connecting role's own privileges.
_FORBIDDEN_CALL = re.compile(r"""(?x)^(
      read_\w+ | \w+_scan | \w+_attach | glob | sniff_csv | parquet_\w+ | iceberg_\w+
    | delta_\w+ | st_read\w* | query | query_table | json_execute_serialized_sql
    | pg_read_\w+ | pg_ls_\w+ | pg_stat_file | pg_file_\w+ | pg_logdir_ls | lo_\w+
    | loread | lowrite | dblink\w* | \w+_to_xml\w* | \w+_to_xmlschema | set_config
    | pg_reload_conf | pg_rotate_logfile | pg_terminate_backend | pg_cancel_backend
    | pg_promote | pg_switch_wal | pg_create_\w+ | pg_drop_\w+ | pg_advisory\w*
    | pg_notify
)$""")

#: DuckDB connection settings: read-only file, nothing outside it (files, URLs, other
#: databases, Python variables, extensions), and the query cannot change them.
DUCKDB_CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
                 "autoload_known_extensions": False, "allow_community_extensions": False,
                 "python_enable_replacements": False, "lock_configuration": True}
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
    """Words and ``;`` of a SQL text outside string literals, quoted names and comments.

    ``("word", name)`` (lower case), ``("quoted", text)`` (with its quotes), ``("semi",
    ";")``, and ``("call", name)`` for a word or double-quoted name followed by ``(``
    (a function call; also ``VALUES (``)."""
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
            if ch == '"' and sql[i:].lstrip().startswith("("):
                out.append(("call", out[-1][1][1:-1].replace('""', '"').lower()))
        elif ch == "$" and re.match(r"\$[A-Za-z_]*\$", sql[i:]):
            raise NotReadOnlyError("query: dollar-quoted text is not allowed; use '...'")
        elif ch.isalpha() or ch == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_$]*", sql[i:])
            out.append(("word", m.group(0).lower()))
            i += m.end()
            if sql[i:].lstrip().startswith("("):
                out.append(("call", out[-1][1]))
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
    calls = [t for k, t in toks if k == "call" and _FORBIDDEN_CALL.match(t)]
    if calls:
        raise NotReadOnlyError(f"query: the function {calls[0]}() is not allowed: a query "
                               "reads only the tables and views of the database it names, "
                               "not files, other databases, SQL given as text or server "
                               "settings")
    for (k1, t1), (k2, t2) in zip(toks, toks[1:]):
        if k1 == "word" and t1 in ("from", "join") and k2 == "quoted" and t2[0] == "'":
            raise NotReadOnlyError(f"query: {t1.upper()} {t2} reads a file; a query reads "
                                   "only the tables and views of the database it names "
                                   "(write a table name, in double quotes if needed)")
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
        path = _duckdb_path(rest)
        if path in ("", ":memory:"):
            raise DatabaseError("duckdb: an in-memory database is empty; give the database "
                                "file (duckdb:///path/to/file.duckdb)")
        if not Path(path).is_file():
            full = os.path.normpath(Path(path).absolute())
            where = "" if full == path else f" (looked for {full})"
            raise DatabaseError(f"duckdb: database file not found: {path}{where}; a relative "
                                "path is read from the plan file's folder in a plan, from the "
                                "current folder otherwise")
        return sa.create_engine(f"duckdb:///{path}", connect_args={
            "read_only": True, "config": dict(DUCKDB_CONFIG)}), "duckdb"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseError("postgresql:// needs the optional psycopg package; install "
                            "pip install \"aplcohort[postgres]\"") from None
    # credentials, host and port come from the environment / pgpass through libpq
    return sa.create_engine(
        f"postgresql+psycopg://{rest}",
        connect_args={"options": "-c default_transaction_read_only=on"}), "postgresql"


def _duckdb_path(rest: str) -> str:
    """The file path of a ``duckdb://`` URL (the part after ``://``)."""
    return rest[1:] if rest.startswith("/") else rest


def resolve_database_url(url: str, base_dir) -> str:
    """A ``duckdb:///`` URL whose file path is relative, read from ``base_dir``.

    A plan's ``source: duckdb:///../data/reg.duckdb`` is read from the plan file's folder,
    as a file ``source`` is. Absolute paths and other URLs are returned unchanged.

    Examples
    --------
    >>> resolve_database_url("duckdb:///../data/reg.duckdb", "plans")
    'duckdb:///plans/../data/reg.duckdb'
    >>> resolve_database_url("duckdb:////srv/reg.duckdb", "plans")
    'duckdb:////srv/reg.duckdb'
    >>> resolve_database_url("postgresql:///registry", "plans")
    'postgresql:///registry'
    """
    if not is_database_url(url):
        return url
    scheme, rest = url.split("://", 1)
    path = _duckdb_path(rest)
    if scheme.lower() != "duckdb" or path in ("", ":memory:") or Path(path).is_absolute():
        return url
    return f"{scheme}:///{(Path(base_dir) / path).as_posix()}"


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
        if kind == "duckdb" and "disabled" in detail and "configuration" in detail:
            raise DatabaseError(f"{_safe(url)}: the query tried to read something outside the "
                                "database file (a file, URL, other database or extension), "
                                "which aplcohort does not allow: a query reads only the "
                                f"tables and views of the database it names ({detail})"
                                ) from None
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
