"""calib's documents: ``{"prompt", "answer", "choices", "index"}``.

``answer`` is the gold string, ``choices`` the document's answer set (``mode=choices``; empty where
there is none), ``index`` the document's position in its dataset (ACE's tie order).

* The study's CSVs (Sajjad & Singh, MSingh-CSE/LLM-Quantization-Effects ``datasets/*.csv``, columns
  ``prompt,gold``): read as ``pd.read_csv(path, dtype=str)`` reads them (``src/utils.py:87-97``),
  every row in file order (boolq's ``split`` column is not filtered, as in the reference); BoolQ
  prompts get the reference's template (``src/0_softmax.py:69-71``), the others are used verbatim.
  There is no Hub copy: ``--metadata '{"data_path": ...}'`` names the CSV or its folder.
* Hub datasets (google/boolq, baber/piqa, Rowan/hellaswag): loaded with ``datasets.load_dataset``, or
  from a local copy in the same schema (``data_path``: .csv, .json, .jsonl or .parquet). Offline
  without a local copy, the run stops with one line naming the dataset and ``data_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxbench.data.datasource import DATA_OPTION, LOCAL_FORMATS, dataset_dict, load_hub, read_csv
from qxbench.data.datasource import local_file as _local_file
from qxbench.errors import QxError, unknown

__all__ = ["MSINGH", "MsinghSet", "read_msingh", "load_msingh", "load_hub", "dataset_dict", "DATA_OPTION",
           "LOCAL_FORMATS"]



@dataclass(frozen=True)
class MsinghSet:
    file: str
    template: str  # "{}" = the CSV prompt verbatim
    choices: tuple[str, ...]  # the gold values: the answer set of mode=choices


MSINGH = {
    "boolq": MsinghSet("boolq.csv", "Respond with True or False only.\n{}\nAnswer:", ("True", "False")),
    "piqa": MsinghSet("piqa.csv", "{}", ("A", "B")),
    "hellaswag": MsinghSet("hellaswag.csv", "{}", ("0", "1", "2", "3")),
    "toxicity": MsinghSet("toxicity.csv", "{}", ("True", "False")),
}


def read_msingh(path: Path, name: str, *, template: bool = True) -> list[dict[str, Any]]:
    """Rows of one of the study's CSVs as documents (see the module docstring). ``template=False``
    keeps every prompt verbatim, as the study's activation script feeds them
    (``src/4_generate_activations_h5py.py:63``)."""
    spec = MSINGH[name]
    rows = []
    for index, (line, row) in enumerate(read_csv(path, ("prompt", "gold"))):  # empty, binary, ragged: one line
        prompt, gold = row["prompt"], row["gold"]
        if not prompt.strip() or not gold.strip():  # pandas reads an empty cell as NaN: the reference fails
            raise QxError(f"{path}: row {index + 1} (line {line}) has an empty "
                          f"{'prompt' if not prompt.strip() else 'gold'}")
        if gold not in spec.choices:
            raise QxError(f"{path}: row {index + 1} (line {line}) has gold {gold!r}; {name} golds are "
                          f"{', '.join(spec.choices)}")
        rows.append({"prompt": spec.template.format(prompt) if template else prompt, "answer": gold,
                     "choices": list(spec.choices), "index": index})
    if not rows:
        raise QxError(f"{path}: no rows")
    return rows


def load_msingh(name: str, data_path: str | None = None, *, task: str = "calib_msingh",
                template: bool = True) -> Any:
    if name not in MSINGH:
        raise unknown("study dataset", name, MSINGH)
    if not data_path:
        raise QxError(f"{task}_{name} reads the study's CSV (MSingh-CSE/LLM-Quantization-Effects, "
                      f"datasets/{MSINGH[name].file}): --metadata '{{\"{DATA_OPTION}\": \"/path/to/datasets\"}}'")
    return dataset_dict(read_msingh(_local_file(data_path, name, (".csv",)), name, template=template))
