"""Multi-row writes in one round of statements per table, for the ingest hot path.

PostgreSQL: rows are streamed with binary ``COPY`` into a session-local staging table (a
temporary table: no WAL, no indexes), then moved with one ``INSERT ... SELECT ... ON
CONFLICT``. Measured on a 512-span batch, this costs 1.15x a plain COPY into the target,
where a multi-row ``INSERT ... SELECT FROM unnest(arrays)`` cost 2x (bench/ingest.py).
Up to ``FEW_ROWS`` rows (a group commit of single callbacks) go as one ``INSERT ... VALUES``
with bound parameters instead: one round trip, where the staging table costs two.
SQLite (the embedded default) gets multi-row ``VALUES`` in chunks.
Both speak ``ON CONFLICT ... DO NOTHING / DO UPDATE ... WHERE`` and ``RETURNING``.
"""

import functools
import re
import zlib
from collections.abc import Mapping, Sequence

import orjson
import psycopg
from django.conf import settings
from django.db import connection, models, transaction
from psycopg.types.json import Jsonb, JsonbBinaryLoader, set_json_dumps

SQLITE_MAX_VARIABLES = 32000
# Up to this many rows, PostgreSQL gets one INSERT ... VALUES rather than COPY + INSERT.
FEW_ROWS = 64
_COPY_TYPES = {
    "timestamp with time zone": "timestamptz",
    "integer": "int4",
    "bigint": "int8",
    "smallint": "int2",
    "boolean": "bool",
    "double precision": "float8",
}


@functools.cache
def _q(name: str) -> str:
    # Cached: a batch quotes about a hundred names, each through the connection proxy.
    return connection.ops.quote_name(name)


def _copy_type(field: models.Field) -> str:
    base = re.sub(r"\(.*\)", "", field.db_type(connection)).strip()
    return _COPY_TYPES.get(base, base)


class _OrjsonbLoader(JsonbBinaryLoader):
    _loads = orjson.loads


_STAGING: dict[str, tuple[type[models.Model], tuple[str, ...]]] = {}


def staging_name(model: type[models.Model], columns: Sequence[str]) -> str:
    key = ",".join(columns)
    return f"staging_{model._meta.db_table}_{zlib.crc32(key.encode()):08x}"


def register_staging(model: type[models.Model], columns: Sequence[str]) -> None:
    """Declare a batch shape written with ``upsert``; its staging table is made per session."""
    _STAGING[staging_name(model, columns)] = (model, tuple(columns))


def create_staging_tables(sender: object, connection, **_: object) -> None:
    """Temporary staging tables for every declared shape, for this database session.

    Runs on ``connection_created`` (in autocommit, so no rolled-back transaction can take
    the tables along; ``ON COMMIT DELETE ROWS`` empties them after each transaction) and
    on ``post_migrate``, for a session that opened before the ledger's tables existed.
    """
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    raw = connection.connection
    # JSON columns are written from Python objects and read back (binary results) with
    # orjson, several times faster than json. Django's own text loader stays as it is.
    set_json_dumps(orjson.dumps, context=raw)
    raw.adapters.register_loader("jsonb", _OrjsonbLoader)
    # Few-row writes prepare a statement per table and row count (up to FEW_ROWS each):
    # psycopg's default of 100 kept would drop and prepare them again and again.
    raw.prepared_max = 1000
    if settings.DB_POOL_MODE == "transaction":
        return  # no session of our own: each upsert makes its table in its transaction
    for name in _STAGING:
        try:
            with raw.transaction(), raw.cursor() as cursor:
                cursor.execute(_staging_sql(name))
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
            # Not migrated yet (a new database, or an upgrade adding columns): post_migrate
            # calls again once the tables are there.
            return


@functools.cache
def _staging_sql(name: str) -> str:
    model, columns = _STAGING[name]
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    return (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(name)} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {names} FROM {quote(model._meta.db_table)} WITH NO DATA"
    )


def pg_query(sql: str, params: Sequence[object] | Mapping[str, object]) -> list[tuple]:
    """PostgreSQL only: run a read with server-side binding (``= ANY(%s)`` takes a list).

    Hot-path look-ups by a batch of keys: one array parameter instead of Django rendering
    an ``IN (...)`` list of hundreds of escaped literals. Results come in binary (C loaders,
    no text parsing); JSON columns as Python objects.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def pg_execute(sql: str, params: Sequence[object] | Mapping[str, object]) -> None:
    """PostgreSQL only: ``pg_query`` for a statement that returns no rows."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)


def _key_sql(model: type[models.Model], key: str) -> tuple[str, str]:
    meta = model._meta
    return _q(meta.db_table), _q(meta.get_field(key).column)


def rows_by_keys(
    model: type[models.Model], key: str, values: Sequence[object], fields: Sequence[str]
) -> list[tuple]:
    """``values_list(*fields)`` of the rows whose ``key`` is one of ``values``.

    On PostgreSQL one array parameter and binary results: with thousands of keys, an
    ``IN (...)`` list costs more to build and parse than the query costs to run.
    """
    if connection.vendor != "postgresql":
        return list(model.objects.filter(**{f"{key}__in": values}).values_list(*fields))
    table, column = _key_sql(model, key)
    columns = ", ".join(_q(model._meta.get_field(name).column) for name in fields)
    return pg_query(
        f"SELECT {columns} FROM {table} WHERE {column} = ANY(%s)",  # noqa: S608
        [list(values)],
    )


def delete_by_keys(model: type[models.Model], key: str, values: Sequence[object]) -> None:
    """Delete the rows whose ``key`` is one of ``values`` (no signals, no cascades)."""
    if not values:
        return
    if connection.vendor != "postgresql":
        model.objects.filter(**{f"{key}__in": values})._raw_delete(model.objects.db)
        return
    table, column = _key_sql(model, key)
    pg_execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", [list(values)])  # noqa: S608


def insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Plain insert of rows expected to be new: binary COPY straight into the table.

    The fast path for rows whose keys the caller knows to be unused; a key that is used
    after all raises IntegrityError (after which the caller's transaction or savepoint
    must roll back) and the caller falls back to ``upsert``.
    """
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(_q(f.column) for f in fields)
    if connection.vendor != "postgresql":
        _upsert_sqlite(_q(model._meta.db_table), fields, names, rows, "", fetch=False)
        return
    connection.ensure_connection()
    name = staging_name(model, columns)
    if name not in _STAGING:
        raise LookupError(f"register_staging({model.__name__}, {columns!r}) was not called")
    sql = f"COPY {_q(model._meta.db_table)} ({names}) FROM STDIN (FORMAT BINARY)"
    raw = connection.connection
    with connection.wrap_database_errors, raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(_copy_types(name))
        for row in rows:
            copy.write_row(row)


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    conflict: Sequence[str],
    conflict_where: str = "",
    update: Sequence[str] = (),
    update_where: str = "",
    accumulate: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert ``rows`` (tuples in ``columns`` order); on a conflict do nothing, or update.

    Columns are model field names. On a conflict, ``update`` columns take the new value and
    ``accumulate`` columns add it to the stored one. ``update_where`` is SQL that may name
    the target table's and ``EXCLUDED``'s columns. Returns the ``returning`` columns of the
    rows written.
    """
    if not rows:
        return []
    meta = model._meta
    table = _q(meta.db_table)
    fields = [meta.get_field(name) for name in columns]
    names = ", ".join(_q(f.column) for f in fields)

    def col(name: str) -> str:
        return _q(meta.get_field(name).column)

    suffix = f" ON CONFLICT ({', '.join(col(c) for c in conflict)})"
    if conflict_where:
        suffix += f" WHERE {conflict_where}"
    if update or accumulate:
        sets = ", ".join(
            [f"{col(c)} = EXCLUDED.{col(c)}" for c in update]
            + [f"{col(c)} = {table}.{col(c)} + EXCLUDED.{col(c)}" for c in accumulate]
        )
        suffix += f" DO UPDATE SET {sets}"
        if update_where:
            suffix += f" WHERE {update_where}"
    else:
        suffix += " DO NOTHING"
    if returning:
        suffix += " RETURNING " + ", ".join(f"{table}.{col(c)}" for c in returning)

    if connection.vendor == "postgresql":
        if len(rows) <= FEW_ROWS:
            return _upsert_values(table, fields, names, rows, suffix, bool(returning))
        return _upsert_postgresql(model, columns, fields, names, rows, suffix, bool(returning))
    return _upsert_sqlite(table, fields, names, rows, suffix, bool(returning))


@functools.cache
def _copy_types(name: str) -> list[str]:
    model, columns = _STAGING[name]
    return [_copy_type(model._meta.get_field(c)) for c in columns]


def _upsert_postgresql(model, columns, fields, names, rows, suffix, fetch) -> list[tuple]:
    connection.ensure_connection()
    name = staging_name(model, columns)
    if name not in _STAGING:
        raise LookupError(f"register_staging({model.__name__}, {columns!r}) was not called")
    staging, table = _q(name), _q(model._meta.db_table)
    # In autocommit the COPY would commit on its own and ON COMMIT DELETE ROWS empty the
    # staging table before the INSERT read it: the rows would be lost without an error.
    with (
        transaction.atomic(savepoint=False),
        connection.wrap_database_errors,
        connection.connection.cursor() as cursor,
    ):
        if settings.DB_POOL_MODE == "transaction":
            # The server session under this transaction may be new to us (PgBouncer):
            # make sure it has the table. Where it does, this is a catalog look-up.
            cursor.execute(_staging_sql(name))
        with cursor.copy(f"COPY {staging} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_copy_types(name))
            for row in rows:
                copy.write_row(row)
        # Identifiers come from model metadata and the caller's code; values travel by COPY.
        # Emptied in the same round trip: ON COMMIT DELETE ROWS alone would hand the rows
        # to the next batch when the caller's transaction is an outer atomic block.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}{suffix}; "  # noqa: S608
            f"DELETE FROM {staging}"
        )
        return cursor.fetchall() if fetch else []


def _upsert_values(table, fields, names, rows, suffix, fetch) -> list[tuple]:
    """A few rows: one ``INSERT ... VALUES`` with bound parameters, one round trip.

    Group commit (tracking.ingest.group_commit) writes batches of a handful of rows, where
    the staging table's two round trips cost more than the rows. The same statement text
    recurs for each batch size, so psycopg prepares it after a few runs (when the session
    is ours: DB_POOL_MODE=session).
    """
    json = [isinstance(f, models.JSONField) for f in fields]
    params: list[object] = []
    for row in rows:
        params.extend(Jsonb(v) if json[i] and v is not None else v for i, v in enumerate(row))
    # Identifiers come from model metadata and the caller's code; values are parameters.
    values = _placeholders(len(fields), len(rows))
    sql = f"INSERT INTO {table} ({names}) VALUES {values}{suffix}"  # noqa: S608
    connection.ensure_connection()
    # A RawCursor takes PostgreSQL's own $n placeholders as they are: a long statement
    # with %s ones is split by a regular expression on every run (psycopg caches only
    # short ones), which cost more than the rest of the write.
    with connection.wrap_database_errors, psycopg.RawCursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall() if fetch else []


@functools.cache
def _placeholders(width: int, count: int) -> str:
    return ", ".join(
        "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(count)
    )


def _upsert_sqlite(table, fields, names, rows, suffix, fetch) -> list[tuple]:
    result: list[tuple] = []
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, SQLITE_MAX_VARIABLES // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[object] = []
            for row in chunk:
                for index, value in enumerate(row):
                    params.append(fields[index].get_db_prep_save(value, connection))
            values = ", ".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {table} ({names}) VALUES {values}{suffix}"  # noqa: S608
            cursor.execute(sql, params)
            if fetch:
                result.extend(cursor.fetchall())
    return result
