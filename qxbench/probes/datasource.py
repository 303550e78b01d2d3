"""Where a probe variant's documents come from: the Hub, or a local copy — one mechanism for every
real-data variant (``cf_flip_sst2``, ``nle_sim_ecqa``, ``multihop_twohopfact``, ``calib_boolq`` ...).

    --metadata '{"data_path": "/path/to/sst2_validation.jsonl"}'   # a file, or a folder holding <stem>.<ext>

A local copy has the Hub dataset's columns in ``.csv``, ``.json``, ``.jsonl`` or ``.parquet``.
Without one, the Hub dataset's split is loaded; offline, that ends with one line naming the dataset
and this option (never a connection traceback). Every loader returns a ``DatasetDict`` whose one
split is ``test`` (the variants' ``test_split``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qxbench.errors import QxError, first_line, unknown

DATA_OPTION = "data_path"
LOCAL_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


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


def load_hub(hub_id: str, split: str, stem: str, data_path: str | None = None, name: str | None = None) -> Any:
    """``hub_id``'s ``split`` (config ``name``) from the Hub, or the local copy ``data_path`` (same columns)."""
    import datasets

    if data_path:
        path = local_file(data_path, stem, tuple(LOCAL_FORMATS))
        builder = LOCAL_FORMATS.get(path.suffix.lower())
        if builder is None:
            raise unknown(f"{DATA_OPTION} format of '{path}'", path.suffix, LOCAL_FORMATS)
        return datasets.DatasetDict({"test": datasets.load_dataset(builder, data_files=str(path), split="train")})
    try:
        return datasets.DatasetDict({"test": datasets.load_dataset(hub_id, name, split=split)})
    except (ConnectionError, FileNotFoundError) as err:
        raise QxError(f"Dataset '{hub_id}' could not be loaded from the Hub ({first_line(err)}): pass a local copy "
                      f"of its {split} split with --metadata '{{\"{DATA_OPTION}\": \"/path/to/{stem}.jsonl\"}}'"
                      ) from err
