"""Bad input never costs work (issue 28): every case ends in one line naming the value, before any
model work. The data-file cases (``qxbench.data.datasource.load_local``) are here; the command-line
cases are in the second half of this file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qxbench.data.datasource import load_hub, load_local
from qxbench.errors import QxError

COLUMNS = {"sentence": str, "label": int}


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


@pytest.mark.parametrize(("name", "content", "words"), [
    ("e.csv", "", ["is empty"]),
    ("e.jsonl", "\n\n", ["is empty"]),
    ("b.csv", b"PK\x03\x04\x00\x00binary", ["is binary"]),
    ("b.jsonl", b"\xff\xfe{\"a\": 1}", ["not UTF-8", "line 1"]),
    ("t.jsonl", '{"sentence": "a", "label": 1}\n{"sentence": "b", "lab', ["line 2", "not a complete JSON object"]),
    ("n.jsonl", '[1, 2]\n', ["line 1", "expected a JSON object"]),
    ("f.csv", "sentence,label\na,1\nb,1,2\n", ["line 3", "3 fields", "header 2"]),
    ("h.csv", "sentence,label\n", ["no rows"]),
    ("c.csv", "text,y\na,1\n", ["lacks the columns 'sentence', 'label'", "columns found: text, y"]),
    ("s.jsonl", '{"sentence": "a", "label": "1"}\n', ["line 1", "label '1'", "expected an integer"]),
    ("x.csv", "sentence,label\na,0\nb,x\n", ["line 3", "label 'x'", "expected an integer"]),
    ("d.csv", "sentence,label\na,1.7\n", ["line 2", "label '1.7'", "expected an integer"]),
    ("d.jsonl", '{"sentence": "a", "label": 1.7}\n', ["line 1", "label 1.7", "expected an integer"]),
    ("o.jsonl", '{"sentence": "a", "label": true}\n', ["label True", "expected an integer"]),
    ("m.jsonl", '{"sentence": "a", "label": 0}\n{"sentence": "b"}\n', ["line 2", "has no 'label'"]),
    ("w.jsonl", '{"sentence": 3, "label": 0}\n', ["sentence 3", "expected a string"]),
    ("p.parquet", "not parquet", ["is not a Parquet file"]),
])
def test_a_bad_local_file_is_one_line_naming_it(tmp_path, name, content, words):
    path = _write(tmp_path, name, content)
    with pytest.raises(QxError) as err:
        load_local(str(path), "stem", columns=COLUMNS)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_the_hub_id_is_never_named_for_a_local_file(tmp_path):
    path = _write(tmp_path, "ecqa.csv", "q_text,label\nwhat,1.5\n")
    with pytest.raises(QxError) as err:
        load_hub("tasksource/ecqa", "validation", "ecqa", str(tmp_path), columns={"label": int})
    assert str(path) in str(err.value)
    assert "tasksource" not in str(err.value)


@pytest.mark.parametrize(("name", "content"), [
    ("ok.csv", "sentence,label\nhi,1\nho,0.0\n"),
    ("ok.jsonl", '{"sentence": "hi", "label": 1}\n\n{"sentence": "ho", "label": 0.0}\n'),
    ("ok.json", json.dumps([{"sentence": "hi", "label": 1}, {"sentence": "ho", "label": 0.0}])),
])
def test_good_files_load_with_integer_labels(tmp_path, name, content):
    test = load_local(str(_write(tmp_path, name, content)), "stem", columns=COLUMNS)["test"]
    assert test["sentence"] == ["hi", "ho"]
    assert test["label"] == [1, 0]
    assert test.features["label"].dtype == "int64"


def test_a_csv_text_column_of_numbers_stays_text(tmp_path):
    test = load_local(str(_write(tmp_path, "n.csv", "sentence,label\n7,1\n8,0\n")), "stem", columns=COLUMNS)["test"]
    assert test["sentence"] == ["7", "8"]


def test_parquet_loads(tmp_path):
    import pandas as pd

    pd.DataFrame({"sentence": ["a"], "label": [1]}).to_parquet(tmp_path / "stem.parquet")
    assert load_local(str(tmp_path), "stem", columns=COLUMNS)["test"]["label"] == [1]


def test_without_columns_any_well_formed_file_loads(tmp_path):
    test = load_local(str(_write(tmp_path, "any.jsonl", '{"a": "1"}\n')), "stem")["test"]
    assert test["a"] == ["1"]


# -- the task loaders: each local file a probe reads goes through the same checks -------------------
def test_the_task_loaders_name_the_bad_file(tmp_path):
    from lm_eval_tasks.calib.data import load_msingh
    from lm_eval_tasks.calib.utils import load_piqa
    from lm_eval_tasks.memorize.utils import load_lre
    from lm_eval_tasks.multihop.utils import load_lre_chains, load_twohopfact

    empty = _write(tmp_path, "empty.csv", "")
    binary = _write(tmp_path, "binary.json", b"\x89PNG\r\n\x1a\n\x00\x00")
    ragged = _write(tmp_path, "boolq.csv", "prompt,gold\nIs it?,True\n\"open quote,True\n")
    piqa = _write(tmp_path, "piqa.csv", "goal,sol1,sol2,label\ng,a,b,1.7\n")
    cases = [(lambda: load_lre(lre_path=str(binary)), binary, "is binary"),
             (lambda: load_lre_chains(data_path=str(empty)), empty, "is empty"),
             (lambda: load_twohopfact(data_path=str(empty)), empty, "is empty"),
             (lambda: load_msingh("boolq", str(ragged)), ragged, "line 3 has 1 fields"),
             (lambda: load_piqa(data_path=str(piqa)), piqa, "label '1.7', expected an integer")]
    for load, path, words in cases:
        with pytest.raises(QxError) as err:
            load()
        assert str(path) in str(err.value), str(err.value)
        assert words in str(err.value), str(err.value)


# -- the command line: one line, exit 2, before any model is loaded ---------------------------------
def _main(argv, capsys):
    from qxbench.cli import main

    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err.splitlines()[-1] if err else ""


EVAL = ["eval", "--model", "qx", "--tasks", "memorize", "--device", "cpu"]


@pytest.mark.parametrize(("flags", "words"), [
    (["--limit", "0"], "--limit 0 leaves no document"),
    (["--limit", "-1"], "--limit -1 leaves no document"),
    (["--batch_size", "0"], "--batch_size '0' must be a whole number >= 1"),
    (["--metadata", "{data_path: x}"], "--metadata '{data_path: x}' is not JSON"),
    (["--output_path", "{file}"], "is a file, not a directory"),
    (["--output_path", "{file}/runs"], "is a file, not a directory"),
])
def test_eval_bad_arguments_are_one_line_before_the_model_loads(tmp_path, monkeypatch, capsys, flags, words):
    import qxbench.lmeval.adapter

    def never(*_args, **_kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(qxbench.lmeval.adapter.QXLM, "__init__", never)
    file = _write(tmp_path, "results.json.bak", "last week's results")
    code, line = _main([*EVAL, *[f.replace("{file}", str(file)) for f in flags]], capsys)
    assert code == 2, line
    assert line.startswith("qxbench: error: "), line
    assert words in line, line
    assert file.read_text() == "last week's results"


def test_lm_eval_refuses_bad_metadata_and_limit_in_one_line(tmp_path):
    from tests.conftest import console_script, run_cli

    for flags, words in ((["--metadata", "notjson{"], "--metadata 'notjson{' is not JSON"),
                         (["--limit", "0"], "--limit 0 leaves no document")):
        out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "memorize", *flags], cwd=tmp_path)
        assert out.returncode == 2, out.stderr[-2000:]
        assert "Traceback" not in out.stderr, out.stderr[-2000:]
        assert out.stderr.strip().splitlines()[-1].startswith("lm_eval: error: ")
        assert words in out.stderr


@pytest.mark.parametrize("where", ["file", "file/site", "/proc/qxbench-site"])
def test_leaderboard_build_checks_its_output_first(tmp_path, capsys, where):
    file = _write(tmp_path, "file", "keep me")
    out = where if where.startswith("/") else str(tmp_path / where)
    code, line = _main(["leaderboard", "build", str(tmp_path / "no-runs-here"), "-o", out], capsys)
    assert code == 2, line
    assert out in line, line
    assert "file, not a directory" in line or "cannot be written" in line, line
    assert file.read_text() == "keep me"


def test_study_make_under_a_file_is_one_line(tmp_path, capsys):
    _write(tmp_path, "file", "keep me")
    code, line = _main(["study", "make", str(tmp_path), "-o", str(tmp_path / "file" / "study")], capsys)
    assert code == 2, line
    assert "'" + str(tmp_path / "file") + "' is a file, not a directory" in line, line


def test_an_unknown_model_arg_lists_the_valid_keys(capsys):
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError) as err:
        QXLM(pretrained="qx-tiny", bitz="4")
    message = str(err.value)
    assert message.startswith("Unknown --model_args key 'bitz'. Did you mean 'bits'? Available: ")
    assert all(k in message for k in ("quant", "group_size", "batch_size", "attn_implementation"))


def test_weights_that_do_not_fit_the_config_name_the_parameter_and_shapes(tmp_path):
    import shutil

    from qxbench.lmeval.adapter import QXLM
    from qxbench.models import EMBEDDED_MODELS

    broken = tmp_path / "model"
    shutil.copytree(EMBEDDED_MODELS["qx-tiny"], broken)
    config = json.loads((broken / "config.json").read_text())
    config["intermediate_size"] *= 2
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(QxError) as err:
        QXLM(pretrained=str(broken), device="cpu")
    message = str(err.value)
    assert "above report" not in message, message
    assert ("mlp.down_proj.weight is [256, 768] in the checkpoint but "
            "[256, 1536] by its config.json (2 more mismatched)" in message), message


@pytest.mark.slow
def test_quantize_prints_no_lm_eval_warning_and_shows_the_loading_phase(tmp_path):
    from tests.conftest import console_script, run_cli

    env = {"QXBENCH_CACHE": str(tmp_path / "cache"), "QXBENCH_LOG": str(tmp_path / "qxbench.log"), "QX_VERBOSE": ""}
    out = run_cli([console_script("qxbench"), "quantize", "qx-tiny", "--model_args", "quant=rtn,bits=8"],
                  cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "qxbench: loading qx-tiny (quant=rtn) ..." in out.stderr
    assert "model kwarg is not of type" not in out.stderr
    assert "already-initialized model" not in out.stderr
    assert "model kwarg is not of type" in (tmp_path / "qxbench.log").read_text()  # kept, in the log


@pytest.mark.parametrize("label", ["1.7", "3", "x"])
def test_a_hellaswag_label_that_is_not_an_ending_index_is_refused(label):
    import datasets

    from lm_eval_tasks.calib.utils import hellaswag_docs

    rows = datasets.Dataset.from_list([{"ctx": "c", "endings": ["a", "b", "c"], "label": "0"},
                                       {"ctx": "c", "endings": ["a", "b", "c"], "label": label}])
    with pytest.raises(QxError, match=rf"hellaswag row 2: label '{label}' is not the index of one of its 3 endings"):
        hellaswag_docs(rows)


def test_world_train_s_help_says_the_recorded_training_time():
    """The help's minutes are the packaged model's own record (qx_training.json), not a guess."""
    from qxbench.cli import build_parser
    from qxbench.models import EMBEDDED_MODELS

    seconds = json.loads((Path(EMBEDDED_MODELS["qx-tiny"]) / "qx_training.json").read_text())["train_seconds"]
    world = build_parser()._subparsers._group_actions[0].choices["world"]
    train = next(a for a in world._subparsers._group_actions[0]._choices_actions if a.dest == "train")
    assert f"about {round(seconds / 60)} min on 2 cores" in train.help
    assert f"{seconds:.0f} s" in train.help
