"""Set-wise INSERT ... ON CONFLICT for the event worker, on PostgreSQL and SQLite.

A batch's writes are planned before its transaction opens, as ``Insert`` and
``Statement`` values, and ``run`` executes a list of them in order. On PostgreSQL each
column of an insert travels as one parameter, a JSON array that ``ROWS FROM
(json_array_elements_text(...), ...)`` unpacks, so the whole list goes out in one
pipeline: one round trip however many tables the batch writes. COPY into a staging
table (the previous way) cost two round trips per table plus its INSERT ... SELECT,
some thirty per batch, and in the worker each of them also waited for the GIL behind
the read-ahead thread, about 1 ms apiece, ten times the round trip itself (COPY cannot
be pipelined). ``Insert.encode`` makes the JSON in json's C encoder without touching
the database, so the worker does it in its read-ahead thread. PostgreSQL parses JSON a
little slower than binary COPY, but with no staging table to fill and empty its share
of a batch came out a sixth lower. Values are cast to their type without a length
(``varchar``, not ``varchar(32)``): the INSERT then refuses a string too long for its
column, where a cast with the length would cut it silently.

SQLite (the embedded default) gets a multi-row ``VALUES`` list per insert, chunked to
its parameter limit, one statement after another. Both dialects understand the same
``ON CONFLICT ... DO NOTHING | DO UPDATE ... RETURNING`` clause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
import json
import operator
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from django.db import DataError, connection, models, transaction

# Table and column names below come from model metadata, never from event data, which
# only ever travels as parameters; hence the S608 exemptions.


@dataclasses.dataclass(eq=False)
class Insert:
    """``rows`` (values in ``columns`` order) for one INSERT ... ON CONFLICT ``conflict``;
    any column of the model not listed gets its default."""

    model: type[models.Model]
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    conflict: str
    returning: Sequence[str] = ()
    # PostgreSQL: one JSON array per column, once encoded.
    params: list[str] | None = dataclasses.field(default=None, repr=False)

    def encode(self) -> None:
        """Encode the PostgreSQL parameters now; no database access, any thread."""
        if self.params is None:
            rows = _rows_with_defaults(self.rows, _per_row_defaults(self.model, self.columns))
            self.params = [_json_column(values) for values in zip(*rows, strict=True)]

    def returned_if_all_new(self) -> list[tuple]:
        """The RETURNING rows if every row is inserted."""
        positions = [list(self.columns).index(column) for column in self.returning]
        return [tuple(row[position] for position in positions) for row in self.rows]


@dataclasses.dataclass(eq=False)
class Statement:
    """Any other statement, with ``%s`` parameters."""

    sql: str
    params: Sequence[Any]


def run(statements: Sequence[Insert | Statement]) -> list[list[tuple]]:
    """Execute ``statements`` in order; returns the RETURNING rows of each ([] if none).
    On PostgreSQL they go out in one pipeline."""
    if connection.vendor != "postgresql":
        return [_run_sequential(statement) for statement in statements]
    compiled = [_compile(statement) for statement in statements]
    connection.ensure_connection()
    # savepoint=False: inside the worker's transaction this costs nothing; outside one it
    # keeps the statements together.
    with transaction.atomic(savepoint=False), connection.wrap_database_errors:
        conn = connection.connection
        cursors: list[psycopg.Cursor | None] = []
        with conn.pipeline():
            for sql, params in compiled:
                cursor = None
                if sql:
                    cursor = psycopg.Cursor(conn)
                    cursor.execute(sql, params)
                cursors.append(cursor)
        results = []
        for cursor in cursors:
            results.append(cursor.fetchall() if cursor and cursor.description else [])
            if cursor:
                cursor.close()
        return results


def _compile(statement: Insert | Statement) -> tuple[str, list[Any]]:
    if isinstance(statement, Statement):
        return statement.sql, list(statement.params)
    if not statement.rows:
        return "", []
    statement.encode()
    sql, constants = _insert_sql(
        statement.model, tuple(statement.columns), statement.conflict, tuple(statement.returning)
    )
    return sql, [*constants, *statement.params]


_INSERTS: dict[tuple, tuple[str, list[Any]]] = {}


def _insert_sql(
    model: type[models.Model], columns: tuple[str, ...], conflict: str, returning: tuple[str, ...]
) -> tuple[str, list[Any]]:
    """The INSERT for these columns, and the parameters of the constant defaults that
    precede the JSON arrays (the same for every batch, hence made once)."""
    key = (model, columns, conflict, returning)
    if key in _INSERTS:
        return _INSERTS[key]
    per_row = _per_row_defaults(model, columns)
    constant = [field for field in column_defaults(model, columns) if field not in per_row]
    fields = {field.column: field for field in model._meta.concrete_fields}
    staged = [*columns, *(field.column for field in per_row)]
    names = [f"c{number}" for number in range(len(staged))]
    values = [
        *(f"s.c{number}::{_type_name(fields[column])}" for number, column in enumerate(staged)),
        *(f"%s::{_db_type(field)}" for field in constant),
    ]
    arrays = ", ".join(["json_array_elements_text(%s::json)"] * len(staged))
    sql = (
        f"INSERT INTO {model._meta.db_table} "  # noqa: S608
        f"({', '.join([*staged, *(field.column for field in constant)])}) "
        f"SELECT {', '.join(values)} FROM ROWS FROM ({arrays}) AS s({', '.join(names)}) "
        f"ON CONFLICT {conflict}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    params = [field.get_db_prep_save(field_default(field), connection) for field in constant]
    _INSERTS[key] = (sql, params)
    return sql, params


def _type_name(field: models.Field) -> str:
    """The column's type without its length or precision: see the module docstring."""
    return re.sub(r"\(.*\)", "", _db_type(field)).strip()


def _db_type(field: models.Field) -> str:
    if field.is_relation:
        return field.target_field.rel_db_type(connection)
    return field.db_type(connection)


def _json_column(values: Sequence[Any]) -> str:
    """One column as a JSON array. The values of a column share a type, so the
    conversion is chosen once: a ``default`` hook called per value cost more than the
    encoding itself."""
    kind = next((type(value) for value in values if value is not None), None)
    convert = _JSON_CONVERSIONS.get(kind)  # type: ignore[arg-type]
    if convert is not None:
        values = [convert(value) if type(value) is kind else value for value in values]
    return _json_array(values)


# An event's time recurs in its batch (its download, its user's first and last seen, its
# video's), and isoformat of an aware datetime costs a microsecond. PostgreSQL reads a
# UUID as 32 hex digits; str() of one costs twice .hex.
_isoformat = functools.lru_cache(maxsize=4096)(dt.datetime.isoformat)
_JSON_CONVERSIONS: dict[type, Callable[[Any], str]] = {
    dt.datetime: _isoformat,
    uuid.UUID: operator.attrgetter("hex"),
}


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):  # datetime too; PostgreSQL reads ISO 8601
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON: {value!r}")


_json_array = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_json_default
).encode


def column_defaults(model: type[models.Model], given: Sequence[str]) -> list[models.Field]:
    """Concrete fields of ``model`` the caller does not supply and must fill with the
    model's defaults, so a column another app adds later does not break these raw
    inserts."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.column not in given and not field.has_db_default() and not field.db_returning
    ]


def _per_row_defaults(model: type[models.Model], given: Sequence[str]) -> list[models.Field]:
    # A callable default (a random token, say) differs per row, so it travels with
    # the rows; a constant one travels once, as a parameter of the statement.
    return [
        field
        for field in column_defaults(model, given)
        if field.has_default() and callable(field.default)
    ]


def field_default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    return "" if field.empty_strings_allowed else None


def _rows_with_defaults(rows: Sequence[Sequence[Any]], extra: list[models.Field]) -> list:
    """Append default values; a callable default is called per row, a constant one once."""
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


def _run_sequential(statement: Insert | Statement) -> list[tuple]:
    if isinstance(statement, Statement):
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
        return []
    if not statement.rows:
        return []
    model, columns = statement.model, statement.columns
    extra = column_defaults(model, columns)
    suffix = f" ON CONFLICT {statement.conflict}"
    if statement.returning:
        suffix += " RETURNING " + ", ".join(statement.returning)
    full_columns = [*columns, *(field.column for field in extra)]
    full_rows = _rows_with_defaults(statement.rows, extra)
    return _write_values(model, full_columns, full_rows, suffix)


def _write_values(model, columns, rows, suffix) -> list[tuple]:
    fields = {field.column: field for field in model._meta.concrete_fields}
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
            try:
                cursor.execute(sql, [value for row in chunk for value in row])
            except OverflowError as exc:  # refused by the driver, before SQLite could
                raise DataError(f"{model._meta.db_table}: integer out of range: {exc}") from exc
            if "RETURNING" in suffix:
                result.extend(cursor.fetchall())
    return result
