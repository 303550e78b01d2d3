"""Calibration text for backends that need it (GPTQ, AWQ).

``calibration=auto`` (the default) is the synthetic world's training documents for the embedded
model it was made for (``qx-tiny``) and real text for every other model: WikiText-2
(``Salesforce/wikitext:wikitext-2-raw-v1``, the GPTQ literature's usual set) from the Hub. The
synthetic world is never used for another model unless asked for (``calibration=world``).

Any other value is a local file (``.txt``: one text per non-empty line; ``.jsonl``/``.json``/
``.csv``/``.parquet``: the ``calib_column``), a local dataset directory, or a Hub dataset id
(``ID`` or ``ID:CONFIG``), loaded with ``datasets.load_dataset(..., split=calib_split)``.
Offline, a Hub id ends with one line naming the local-file option.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from qxbench.errors import QxError, first_line

REAL_TEXT = "Salesforce/wikitext:wikitext-2-raw-v1"
FILE_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def default_source(model: str, embedded: bool) -> str:
    """What ``calibration=auto`` means for ``model``: the world for the embedded model, else real text."""
    return "world" if embedded else REAL_TEXT


@dataclass(frozen=True)
class Calibration:
    source: str = "world"
    samples: int = 128
    split: str = "train"
    column: str = "text"

    def key(self) -> dict[str, object]:
        """The calibration as given (recorded in ``config.qx.calibration``)."""
        return {"source": self.source, "samples": self.samples, "split": self.split, "column": self.column}

    def content(self) -> str | None:
        """What a local source holds, for the quantized-model cache's key (:func:`qxbench.quant._common.cache_spec`):
        a file's sha256, a folder's files by name, size and mtime (as the model fingerprint); None for the
        synthetic world and Hub ids. A name is not its text: an edited file, or another file of that name
        relative to another folder, never reads a model quantized on the old text."""
        local = Path(self.source).expanduser()
        h = hashlib.sha256()
        if local.is_file():
            with local.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
        elif local.is_dir():
            for f in sorted(p for p in local.rglob("*") if p.is_file()):
                st = f.stat()
                h.update(f"{f.relative_to(local)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        else:
            return None
        return h.hexdigest()


def calibration_texts(cal: Calibration) -> list[str]:
    if cal.samples < 1:
        raise QxError(f"calib_samples={cal.samples} must be at least 1")
    if cal.source == "world":
        from qxbench.world.generate import build_world, training_documents

        docs = training_documents(build_world())
        step = max(1, len(docs) // cal.samples)
        return docs[::step][: cal.samples]
    local = Path(cal.source).expanduser()
    if local.is_file() and local.suffix == ".txt":
        texts = [line.strip() for line in local.read_text().splitlines() if line.strip()][: cal.samples]
        if not texts:
            raise QxError(f"Calibration file '{cal.source}' has no non-empty line")
        return texts
    ds = _load(cal, local)
    if cal.column not in ds.column_names:
        raise QxError(f"Calibration dataset '{cal.source}' has no column '{cal.column}'. "
                      f"Columns: {', '.join(ds.column_names)}")
    texts = [t for t in ds[cal.column][: cal.samples * 4] if isinstance(t, str) and t.strip()][: cal.samples]
    if not texts:
        raise QxError(f"Calibration dataset '{cal.source}' column '{cal.column}' has no non-empty text")
    return texts


def _load(cal: Calibration, local: Path):  # noqa: ANN202
    import datasets

    try:
        if local.is_file():
            if local.suffix not in FILE_FORMATS:
                raise QxError(f"Calibration file '{cal.source}': unknown format '{local.suffix}'; "
                              f"use one of .txt, {', '.join(FILE_FORMATS)}")
            return datasets.load_dataset(FILE_FORMATS[local.suffix], data_files=str(local), split="train")
        if local.is_dir():
            return datasets.load_dataset(str(local), split=cal.split)
        name, _, config = cal.source.partition(":")
        return datasets.load_dataset(name, config or None, split=cal.split)
    except QxError:
        raise
    except Exception as err:  # datasets raises many types; the message is what the user needs
        hint = "" if local.exists() else (" — offline? pass a local file or directory: "
                                          "calibration=/path/to/texts.txt (or .jsonl/.csv/.parquet, or a dataset dir)")
        raise QxError(f"Could not load calibration dataset '{cal.source}' (split '{cal.split}'): "
                      f"{first_line(err)}{hint}") from None
