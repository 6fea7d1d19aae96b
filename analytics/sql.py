"""Set-wise INSERT ... ON CONFLICT for the event worker, on PostgreSQL and SQLite.

PostgreSQL gets one statement per table per batch whose rows travel as one array per
column (``INSERT ... SELECT * FROM unnest(%s::bigint[], ...)``): the statement text
never changes, so psycopg prepares it once, and a batch of 500 rows costs about as much
as a handful of single-row inserts. SQLite (the embedded default) gets a multi-row
``VALUES`` list, chunked to its parameter limit. Both dialects understand the same
``ON CONFLICT ... DO NOTHING | DO UPDATE ... RETURNING`` clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection, models

# Table and column names below come from model metadata, never from event data, which
# only ever travels as parameters; hence the S608 exemptions.


def column_defaults(model: type[models.Model], given: Sequence[str]) -> list[models.Field]:
    """Concrete fields of ``model`` the caller does not supply and must fill with the
    model's defaults, so a column another app adds later does not break these raw
    inserts."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.column not in given and not field.has_db_default() and not field.db_returning
    ]


def field_default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    return "" if field.empty_strings_allowed else None


def _rows_with_defaults(rows: Sequence[Sequence[Any]], extra: list[models.Field]) -> list:
    """Append default values; a callable default (a random referral code) is called
    per row, a constant one once."""
    if not extra:
        return rows
    per_row = [
        i for i, field in enumerate(extra) if field.has_default() and callable(field.default)
    ]
    constant = [field_default(field) for field in extra]
    if not per_row:
        return [[*row, *constant] for row in rows]
    result = []
    for row in rows:
        values = list(constant)
        for index in per_row:
            values[index] = extra[index].default()
        result.append([*row, *values])
    return result


def rows_write(
    *,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: str,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert ``rows`` (values in ``columns`` order) in one statement per chunk; any
    column of the model not listed gets its default. Returns the RETURNING rows."""
    if not rows:
        return []
    extra = column_defaults(model, columns)
    full_columns = [*columns, *(field.column for field in extra)]
    full_rows = _rows_with_defaults(rows, extra)
    fields = {field.column: field for field in model._meta.concrete_fields}
    suffix = f" ON CONFLICT {conflict}"
    if returning:
        suffix += " RETURNING " + ", ".join(returning)
    if connection.vendor == "postgresql":
        return _write_unnest(model, fields, full_columns, full_rows, suffix)
    return _write_values(model, fields, full_columns, full_rows, suffix)


def _write_unnest(model, fields, columns, rows, suffix) -> list[tuple]:
    casts = ", ".join(f"%s::{_db_type(fields[column])}[]" for column in columns)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT * FROM unnest({casts}){suffix}"
    )
    arrays = [list(values) for values in zip(*rows, strict=True)]
    # A plain psycopg cursor binds on the server (Django's binds on the client), so the
    # arrays travel as parameters and the statement gets prepared.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, arrays)
        return cursor.fetchall() if cursor.description else []


def _db_type(field: models.Field) -> str:
    if field.is_relation:
        return field.target_field.rel_db_type(connection)
    return field.db_type(connection)


def _write_values(model, fields, columns, rows, suffix) -> list[tuple]:
    prepared = [
        [
            fields[column].get_db_prep_save(value, connection)
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows
    ]
    limit = connection.features.max_query_params or 999
    per_statement = max(1, limit // len(columns))
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    result: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), per_statement):
            chunk = prepared[start : start + per_statement]
            sql = (
                f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES {', '.join([placeholder] * len(chunk))}{suffix}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            if "RETURNING" in suffix:
                result.extend(cursor.fetchall())
    return result


def execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
