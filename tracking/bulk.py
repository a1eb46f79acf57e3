"""Multi-row writes in one statement per table, for the ingest hot path.

PostgreSQL gets ``INSERT ... SELECT FROM unnest(array, ...)``: one statement and one set of
typed array parameters however many rows, so psycopg sends them in binary without building
SQL text per row. SQLite (the embedded default) gets multi-row ``VALUES`` in chunks.
Both speak ``ON CONFLICT ... DO NOTHING / DO UPDATE ... WHERE`` and ``RETURNING``.
"""

from collections.abc import Sequence

import orjson
from django.db import connection, models

SQLITE_MAX_VARIABLES = 32000


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    conflict: Sequence[str],
    conflict_where: str = "",
    update: Sequence[str] = (),
    update_where: str = "",
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert ``rows`` (tuples in ``columns`` order); on a conflict do nothing, or update.

    Columns are model field names; ``update_where`` is SQL that may name the target table's
    and ``EXCLUDED``'s columns. Returns the ``returning`` columns of the rows written.
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
    if update:
        sets = ", ".join(f"{col(c)} = EXCLUDED.{col(c)}" for c in update)
        suffix += f" DO UPDATE SET {sets}"
        if update_where:
            suffix += f" WHERE {update_where}"
    else:
        suffix += " DO NOTHING"
    if returning:
        suffix += " RETURNING " + ", ".join(f"{table}.{col(c)}" for c in returning)

    json_columns = [isinstance(f, models.JSONField) for f in fields]
    if connection.vendor == "postgresql":
        casts = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        arrays: list[list] = [[] for _ in fields]
        for row in rows:
            for index, value in enumerate(row):
                if json_columns[index]:
                    value = orjson.dumps(value).decode()
                arrays[index].append(value)
        # Identifiers come from model metadata and the caller's code; values are parameters.
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({casts}){suffix}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
            return list(cursor.fetchall()) if returning else []

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
            if returning:
                result.extend(cursor.fetchall())
    return result
