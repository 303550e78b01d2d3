"""Where a probe variant's documents come from: the Hub, or a local copy — one mechanism for every
real-data variant (``cf_flip_sst2``, ``nle_sim_ecqa``, ``multihop_twohopfact``, ``calib_boolq`` ...).

    --metadata '{"data_path": "/path/to/sst2_validation.jsonl"}'   # a file, or a folder holding <stem>.<ext>

A local copy has the Hub dataset's columns in ``.csv``, ``.json``, ``.jsonl`` or ``.parquet``.
Without one, the Hub dataset's split is loaded; offline, that ends with one line naming the dataset
and this option (never a connection traceback). Every loader returns a ``DatasetDict`` whose one
split is ``test`` (the variants' ``test_split``).

A local file is checked before any model work (:func:`load_local`): an empty or binary file, a
JSON(L) line that does not parse, a CSV row with the wrong number of fields, a missing column or a
value of the wrong type each end in one :class:`QxError` naming the file the user passed (never the
Hub id), the line or row, and what was expected. ``int`` columns take integers only: a bool, a
string such as ``"1"`` or a float such as ``1.7`` is refused (an integral float such as ``1.0`` is
read as the integer); ``object`` only requires the column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line, unknown

DATA_OPTION = "data_path"
LOCAL_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_INTEGER = re.compile(r"[-+]?\d+(\.0*)?")
_TYPE_WORDS = {int: "an integer", str: "a string", float: "a number", bool: "true or false", list: "a list",
               dict: "an object", object: "a value"}


def dataset_dict(rows: list[dict[str, Any]]) -> Any:
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def local_file(data_path: str, stem: str, suffixes: tuple[str, ...]) -> Path:
    """``data_path`` itself, or ``<data_path>/<stem><suffix>`` when it is a folder."""
    path = Path(data_path).expanduser()
    if path.is_dir():
        found = [path / f"{stem}{s}" for s in suffixes if (path / f"{stem}{s}").is_file()]
        if not found:
            raise QxError(f"{DATA_OPTION} '{data_path}' is a folder without {' or '.join(stem + s for s in suffixes)}")
        return found[0]
    if not path.is_file():
        raise QxError(f"{DATA_OPTION} '{data_path}' is not a file or a folder")
    return path


def read_text(path: Path, option: str = DATA_OPTION) -> str:
    """The file's text; an empty, binary or non-UTF-8 file is one :class:`QxError` naming it."""
    raw = path.read_bytes()
    if not raw.strip():
        raise QxError(f"{option} file '{path}' is empty")
    if b"\x00" in raw[:8192]:
        raise QxError(f"{option} file '{path}' is binary, not {path.suffix.lstrip('.') or 'text'} text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise QxError(f"{option} file '{path}' is not UTF-8 text (line {line}, byte {err.start})") from None


def _json_records(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for a JSON array of objects or one JSON object per line."""
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" and stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise QxError(f"{DATA_OPTION} file '{path}': line {err.lineno} is not valid JSON ({err.msg})") from None
        yield from ((f"record {i + 1}", r) for i, r in enumerate(records))
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as err:
            raise QxError(f"{DATA_OPTION} file '{path}': line {number} is not a complete JSON object ({err.msg}, "
                          f"column {err.colno}); expected one JSON object per line") from None


def _read_json(path: Path) -> tuple[list[tuple[str, dict]], list[str]]:
    rows, found = [], {}
    for where, record in _json_records(path, read_text(path)):
        if not isinstance(record, dict):
            raise QxError(f"{DATA_OPTION} file '{path}': {where} is {type(record).__name__}, expected a JSON object")
        rows.append((where, record))
        found.update(dict.fromkeys(record))
    return rows, list(found)


def read_csv(path: Path, columns: Iterable[str] = (), option: str = DATA_OPTION) \
        -> list[tuple[int, dict[str, str]]]:
    """``(line, row)`` for every row of a CSV (text cells, as ``csv.DictReader`` reads them), checked:
    not empty or binary, every row as many fields as the header, every one of ``columns`` there, a row."""
    reader = csv.reader(io.StringIO(read_text(path, option), newline=""))
    rows = []
    try:
        header = next(reader)
        _need_columns(path, header, dict.fromkeys(columns, str), option)
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise QxError(f"{option} file '{path}': line {reader.line_num} has {len(row)} fields, "
                              f"the header {len(header)} ({', '.join(header)})")
            rows.append((reader.line_num, dict(zip(header, row, strict=True))))
    except csv.Error as err:
        raise QxError(f"{option} file '{path}': line {reader.line_num} does not parse as CSV "
                      f"({first_line(err)})") from None
    if not rows:
        raise QxError(f"{option} file '{path}' has a header ({', '.join(header)}) but no rows")
    return rows


def _check_csv(path: Path, columns: Mapping[str, type]) -> None:
    """:func:`read_csv`, and ``int`` columns hold integers (a CSV cell is text: ``1`` and ``1.0`` are
    integers, ``1.7`` and ``x`` are not)."""
    ints = [c for c, kind in columns.items() if kind is int]
    for line, row in read_csv(path, columns):
        for column in ints:
            if not _INTEGER.fullmatch(row[column].strip()):
                raise QxError(f"{DATA_OPTION} file '{path}': line {line} has {column} {row[column]!r}, "
                              "expected an integer")


def _value(path: Path, where: str, column: str, value: Any, kind: type) -> Any:
    """``value`` when it is of ``kind`` (an integral float for ``int``), else one QxError."""
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise QxError(f"{DATA_OPTION} file '{path}': {where} has {column} {value!r}, expected "
                      f"{_TYPE_WORDS.get(kind, kind.__name__)}")
    return value


def _need_columns(path: Path, found: list[str], columns: Mapping[str, type], option: str = DATA_OPTION) -> None:
    missing = [c for c in columns if c not in found]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise QxError(f"{option} file '{path}' lacks the column{'s' if len(missing) > 1 else ''} {names} "
                      f"(columns found: {', '.join(found) or 'none'})")


def _check_rows(path: Path, rows: Iterator[tuple[str, dict]], columns: Mapping[str, type]) -> list[dict]:
    out = []
    for where, row in rows:
        for column, kind in columns.items():
            if column not in row:
                raise QxError(f"{DATA_OPTION} file '{path}': {where} has no {column!r}")
            row[column] = _value(path, where, column, row[column], kind)
        out.append(row)
    return out


def load_local(data_path: str, stem: str, *, columns: Mapping[str, type] | None = None) -> Any:
    """The local copy ``data_path`` (a file, or a folder holding ``<stem>.<ext>``) as a ``DatasetDict``
    with one split ``test``, checked as the module docstring says; ``columns`` maps each required
    column to the type every one of its values must have."""
    import datasets

    columns = dict(columns or {})
    path = local_file(data_path, stem, tuple(LOCAL_FORMATS))
    builder = LOCAL_FORMATS.get(path.suffix.lower())
    if builder is None:
        raise unknown(f"{DATA_OPTION} format of '{path}'", path.suffix, LOCAL_FORMATS)
    if builder == "json":
        records, found = _read_json(path)
        if not records:
            raise QxError(f"{DATA_OPTION} file '{path}' has no records")
        _need_columns(path, found, columns)
        rows = _check_rows(path, iter(records), columns)
        try:
            return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
        except Exception as err:  # pyarrow: a column whose rows mix types
            raise QxError(f"{DATA_OPTION} file '{path}': its rows do not share one schema ({first_line(err)})"
                          ) from None
    if builder == "csv":
        _check_csv(path, columns)
    elif path.read_bytes()[:4] != b"PAR1":
        raise QxError(f"{DATA_OPTION} file '{path}' is not a Parquet file")
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train")
    except Exception as err:  # the builder's own parser: name the file, keep its first line
        raise QxError(f"{DATA_OPTION} file '{path}' could not be read as {builder} ({first_line(err)})") from None
    if len(table) == 0:
        raise QxError(f"{DATA_OPTION} file '{path}' has no rows")
    _need_columns(path, list(table.column_names), columns)
    for column, kind in columns.items():
        dtype = table.features[column].dtype if hasattr(table.features[column], "dtype") else ""
        if builder == "csv" and kind is str and dtype != "string":  # pandas read a text column of numbers
            table = table.cast_column(column, datasets.Value("string"))
            continue
        for i, value in enumerate(table[column]):
            _value(path, f"row {i + 1}", column, value, kind)
        if kind is int and dtype.startswith("float"):
            table = table.cast_column(column, datasets.Value("int64"))
    return datasets.DatasetDict({"test": table})


def load_hub(hub_id: str, split: str, stem: str, data_path: str | None = None, name: str | None = None, *,
             columns: Mapping[str, type] | None = None) -> Any:
    """``hub_id``'s ``split`` (config ``name``) from the Hub, or the local copy ``data_path`` (same columns,
    checked by :func:`load_local` against ``columns``)."""
    import datasets

    if data_path:
        return load_local(data_path, stem, columns=columns)
    try:
        return datasets.DatasetDict({"test": datasets.load_dataset(hub_id, name, split=split)})
    except (ConnectionError, FileNotFoundError) as err:
        raise QxError(f"Dataset '{hub_id}' could not be loaded from the Hub ({first_line(err)}): pass a local copy "
                      f"of its {split} split with --metadata '{{\"{DATA_OPTION}\": \"/path/to/{stem}.jsonl\"}}'"
                      ) from err
