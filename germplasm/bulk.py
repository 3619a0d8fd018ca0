"""Fast bulk writes inside an ORM transaction: COPY on PostgreSQL, executemany on SQLite.

The importers validate a whole file with polars first, then hand the rows to
:func:`insert_frame` as a DataFrame whose columns are the table's columns. At a
million rows the difference from ORM inserts is an order of magnitude.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

CHUNK = 50_000
ANALYZE_AFTER = 100_000  # rows: refresh the planner's statistics after a load this large


def insert_frame(session: Session, model: type[Any], df: pl.DataFrame) -> int:
    """Insert every row of ``df`` into ``model``'s table (columns named as the table's)."""
    if df.height == 0:
        return 0
    conn = session.connection()
    table = model.__tablename__
    _load(conn, table, df)
    if df.height >= ANALYZE_AFTER:
        # Without fresh statistics the planners pick scans over the new indexes.
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql(f"ANALYZE {table}")
    return df.height


_PG_TYPES = {
    pl.Int8: "bigint",
    pl.Int16: "bigint",
    pl.Int32: "bigint",
    pl.Int64: "bigint",
    pl.UInt32: "bigint",
    pl.Float32: "double precision",
    pl.Float64: "double precision",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Datetime: "timestamp",
    pl.String: "text",
}


def stage_frame(session: Session, df: pl.DataFrame, name: str) -> str:
    """Load ``df`` into a new temporary table ``name`` of this session's connection.

    PostgreSQL drops it at the end of the transaction; SQLite keeps it with
    the connection until :func:`drop_stage` or the next stage of that name.

    The staging step of a set-based import: rows go in at the engine's bulk
    speed (``COPY`` on PostgreSQL, one ``executemany`` on SQLite), then the
    caller merges them with ``INSERT ... SELECT``, ``UPDATE ... FROM`` or
    ``ON CONFLICT`` statements instead of one statement per row.

    Parameters
    ----------
    session
        The importer's session; the table lives in its transaction.
    df
        The rows; column types come from its polars dtypes (text otherwise).
    name
        A plain identifier (letters, digits, underscores) for the table.

    Returns
    -------
    str
        ``name``, for use in the caller's SQL.
    """
    if not name.isidentifier():
        raise ValueError(f"not a table name: {name!r}")
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    cols = []
    for col, dtype in df.schema.items():
        sql_type = _PG_TYPES.get(dtype.base_type(), "text") if pg else ""
        cols.append(f'"{col}" {sql_type}'.rstrip())
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {'pg_temp.' if pg else 'temp.'}{name}")
    suffix = " ON COMMIT DROP" if pg else ""
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({', '.join(cols)}){suffix}")
    _load(conn, name, df)
    if df.height >= ANALYZE_AFTER:
        conn.exec_driver_sql(f"ANALYZE {name}")
    return name


def drop_stage(session: Session, name: str) -> None:
    """Drop a staging table made by :func:`stage_frame` (frees SQLite's temporary space)."""
    if not name.isidentifier():
        raise ValueError(f"not a table name: {name!r}")
    conn = session.connection()
    schema = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{name}")


def _load(conn: Any, table: str, df: pl.DataFrame) -> None:
    """Append ``df`` to ``table`` at the engine's bulk speed (columns named as the table's)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = df.columns
    if conn.dialect.name == "postgresql":
        col_sql = ", ".join(f'"{c}"' for c in cols)
        with raw.cursor() as cur:
            for start in range(0, df.height, 500_000):
                buf = io.BytesIO()
                df.slice(start, 500_000).write_csv(
                    buf, include_header=False, null_value="\\N", quote_style="non_numeric"
                )
                with cur.copy(
                    f"COPY {table} ({col_sql}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                ) as copy:
                    copy.write(buf.getvalue())
    else:
        # sqlite3's own datetime adapter is deprecated: store SQLAlchemy's text form.
        df = df.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        col_sql = ", ".join(f'"{c}"' for c in cols)
        sql = f"INSERT INTO {table} ({col_sql}) VALUES ({', '.join('?' * len(cols))})"
        cur = raw.cursor()
        for start in range(0, df.height, CHUNK):
            cur.executemany(sql, df.slice(start, CHUNK).iter_rows())
        cur.close()


def read_frame(session: Session, sql: str, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of a parameterless query as a DataFrame of ``schema``.

    PostgreSQL streams them with ``COPY (sql) TO STDOUT``, SQLite fetches them
    from its cursor: both far faster than ORM rows at a million. Callers
    inline integers only and join to staged tables for anything else.
    """
    conn = session.connection()
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        buf = io.BytesIO()
        with raw.cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, NULL '\\N')") as copy:
                for block in copy:
                    buf.write(block)
        if buf.tell() == 0:
            return pl.DataFrame(schema=schema)
        buf.seek(0)
        return pl.read_csv(
            buf,
            has_header=False,
            new_columns=list(schema),
            schema=schema,
            null_values="\\N",
            empty_string_is_null=False,
        )
    cur = raw.cursor()
    try:
        rows = cur.execute(sql).fetchall()
    finally:
        cur.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def chunked(values: list[Any], size: int = 10_000) -> Iterable[list[Any]]:
    """Split a list for ``IN (...)`` clauses that stay under the engines' parameter limits."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


__all__ = ["chunked", "drop_stage", "insert_frame", "read_frame", "stage_frame"]
