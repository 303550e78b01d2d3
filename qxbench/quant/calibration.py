"""Calibration text for backends that need it (GPTQ): the embedded world by default, or a dataset.

``calibration=world`` uses the synthetic world's training documents (deterministic subset);
any other value is a Hugging Face dataset id or a local dataset directory, loaded with
``datasets.load_dataset(source, split=calib_split)`` and read from its ``calib_column``.
"""

from __future__ import annotations

from dataclasses import dataclass

from qxbench.errors import QxError, first_line


@dataclass(frozen=True)
class Calibration:
    source: str = "world"
    samples: int = 128
    split: str = "train"
    column: str = "text"

    def key(self) -> dict[str, object]:
        return {"source": self.source, "samples": self.samples, "split": self.split, "column": self.column}


def calibration_texts(cal: Calibration) -> list[str]:
    if cal.samples < 1:
        raise QxError(f"calib_samples={cal.samples} must be at least 1")
    if cal.source == "world":
        from qxbench.world.generate import build_world, training_documents

        docs = training_documents(build_world())
        step = max(1, len(docs) // cal.samples)
        return docs[::step][: cal.samples]
    import datasets

    try:
        ds = datasets.load_dataset(cal.source, split=cal.split)
    except Exception as err:  # datasets raises many types; the message is what the user needs
        raise QxError(f"Could not load calibration dataset '{cal.source}' (split '{cal.split}'): "
                      f"{first_line(err)}") from err
    if cal.column not in ds.column_names:
        raise QxError(f"Calibration dataset '{cal.source}' has no column '{cal.column}'. "
                      f"Columns: {', '.join(ds.column_names)}")
    texts = [t for t in ds[cal.column][: cal.samples * 4] if isinstance(t, str) and t.strip()][: cal.samples]
    if not texts:
        raise QxError(f"Calibration dataset '{cal.source}' column '{cal.column}' has no non-empty text")
    return texts
