"""Set-wise INSERT ... ON CONFLICT for the event worker, on PostgreSQL and SQLite.

On PostgreSQL the rows are COPYed into a temporary staging table of the same column
types, then moved by one statement per table per batch:
``WITH staged AS (DELETE FROM stage RETURNING *) INSERT INTO t SELECT ... FROM staged
ON CONFLICT ...``. Binary COPY with known column types formats rows in psycopg's C
code, where binding one array per column (``unnest(%s::bigint[], ...)``, the previous
way) dumped every element in Python. The DELETE leaves the stage empty for the next
table or batch, and all three statements run in the caller's transaction, so the stage
also works behind a transaction-pooling proxy. SQLite (the embedded default) gets a
multi-row ``VALUES`` list, chunked to its parameter limit. Both dialects understand the
same ``ON CONFLICT ... DO NOTHING | DO UPDATE ... RETURNING`` clause.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import DataError, connection, models, transaction

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
    """Insert ``rows`` (values in ``columns`` order) set-wise; any column of the model
    not listed gets its default. Returns the RETURNING rows."""
    if not rows:
        return []
    extra = column_defaults(model, columns)
    fields = {field.column: field for field in model._meta.concrete_fields}
    suffix = f" ON CONFLICT {conflict}"
    if returning:
        suffix += " RETURNING " + ", ".join(returning)
    if connection.vendor == "postgresql":
        return _write_staged(model, columns, rows, extra, suffix)
    full_columns = [*columns, *(field.column for field in extra)]
    full_rows = _rows_with_defaults(rows, extra)
    return _write_values(model, fields, full_columns, full_rows, suffix)


def _write_staged(model, columns, rows, extra, suffix) -> list[tuple]:
    # Constant defaults travel once, as parameters of the INSERT; only a per-row
    # (callable) default makes a staged column.
    per_row = [field for field in extra if field.has_default() and callable(field.default)]
    constant = [field for field in extra if field not in per_row]
    if per_row:
        columns = [*columns, *(field.column for field in per_row)]
        rows = _rows_with_defaults(rows, per_row)
    table = model._meta.db_table
    stage = _stage_name(table, columns)
    names = ", ".join(columns)
    into = ", ".join([*columns, *(field.column for field in constant)])
    values = ", ".join([*columns, *(f"%s::{_db_type(field)}" for field in constant)])
    sql = (
        f"WITH staged AS (DELETE FROM {stage} RETURNING *) "  # noqa: S608
        f"INSERT INTO {table} ({into}) SELECT {values} FROM staged{suffix}"
    )
    params = [field.get_db_prep_save(field_default(field), connection) for field in constant]
    connection.ensure_connection()
    # savepoint=False: inside the worker's transaction this costs nothing; outside one
    # it keeps COPY and INSERT together, so the stage never keeps rows after an error.
    with (
        transaction.atomic(savepoint=False),
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
    ):
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        types = _STAGE_TYPES.get(stage)
        if types is None:
            cursor.execute(f"SELECT {names} FROM {stage} LIMIT 0")  # noqa: S608
            types = _STAGE_TYPES[stage] = [column.type_code for column in cursor.description]
        # Binary COPY with known column types: psycopg formats it in C, about three
        # times faster than the text format's Python dumpers of UUIDs and datetimes.
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            try:
                for row in rows:
                    copy.write_row(row)
            except OverflowError as exc:  # refused here, before PostgreSQL could
                raise DataError(f"{table}: integer out of range: {exc}") from exc
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _db_type(field: models.Field) -> str:
    if field.is_relation:
        return field.target_field.rel_db_type(connection)
    return field.db_type(connection)


# Stage table -> the type oids of its columns, for binary COPY. Temporary tables live
# per connection, but the same name always has the same columns and types.
_STAGE_TYPES: dict[str, list[int]] = {}


def _stage_name(table: str, columns: Sequence[str]) -> str:
    digest = hashlib.blake2s(",".join(columns).encode(), digest_size=4).hexdigest()
    return f"stage_{table}_{digest}"


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
