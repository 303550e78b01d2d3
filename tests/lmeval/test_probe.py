"""A probe task's custom request type reaches a method of the qx model through lm-eval's evaluator."""

from __future__ import annotations

import textwrap

import pytest


@pytest.fixture()
def probe_task_dir(tmp_path):
    (tmp_path / "probe_echo.yaml").write_text(textwrap.dedent("""\
        task: qx_test_probe_echo
        class: !function probe_echo.EchoProbe
        custom_dataset: !function probe_echo.load
        test_split: test
        output_type: loglikelihood
        doc_to_text: "{{prompt}}"
        doc_to_target: ""
        metric_list:
          - metric: tokens
            aggregation: mean
            higher_is_better: true
        """))
    (tmp_path / "probe_echo.py").write_text(textwrap.dedent("""\
        import datasets
        from qxbench.lmeval.probe import ProbeTask

        def load(prompt=None, **_):
            rows = [{"prompt": "The capital of"}, {"prompt": "Review: The tea was warm."}]
            if prompt:  # --metadata '{"prompt": ...}': one document
                rows = [{"prompt": prompt}]
            return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})

        class EchoProbe(ProbeTask):
            REQUEST_TYPE = "qx_test_token_count"

            def process_results(self, doc, results):
                return {"tokens": results[0]}
        """))
    return tmp_path


@pytest.mark.slow
def test_custom_request_type_is_answered_by_the_model(probe_task_dir):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from qxbench.lmeval.adapter import QXLM

    class CountingQX(QXLM):
        def qx_test_token_count(self, requests):
            return [len(self.tok_encode(r.args[0])) for r in requests]

    lm = CountingQX(device="cpu")
    expected = sum(len(lm.tok_encode(p)) for p in ("The capital of", "Review: The tea was warm.")) / 2
    out = simple_evaluate(model=lm, tasks=["qx_test_probe_echo"],
                          task_manager=TaskManager(include_path=str(probe_task_dir), include_defaults=False))
    assert out["results"]["qx_test_probe_echo"]["tokens,none"] == pytest.approx(expected)


@pytest.mark.slow
def test_metadata_under_a_task_name_applies_to_that_task_only(probe_task_dir):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from qxbench.lmeval.adapter import QXLM

    class CountingQX(QXLM):
        def qx_test_token_count(self, requests):
            return [len(self.tok_encode(r.args[0])) for r in requests]

    (probe_task_dir / "probe_echo_two.yaml").write_text("include: probe_echo.yaml\ntask: qx_test_probe_echo_two\n")
    lm = CountingQX(device="cpu")
    shared, own = "The capital of", "Review: The tea was warm and the cake was dry."
    metadata = {"prompt": shared, "qx_test_probe_echo_two": {"prompt": own}, "another_task": {"prompt": "x"}}
    out = simple_evaluate(model=lm, tasks=["qx_test_probe_echo", "qx_test_probe_echo_two"],
                          task_manager=TaskManager(include_path=str(probe_task_dir), include_defaults=False,
                                                   metadata=metadata))
    assert out["results"]["qx_test_probe_echo"]["tokens,none"] == len(lm.tok_encode(shared))
    assert out["results"]["qx_test_probe_echo_two"]["tokens,none"] == len(lm.tok_encode(own))


def test_for_task_scopes_object_entries_by_task_name():
    from qxbench.probes.options import for_task

    metadata = {"data_path": "all", "version": 2, "a": {"data_path": "only_a", "k": 1}, "b": {"data_path": "only_b"}}
    assert for_task(metadata, "a") == {"data_path": "only_a", "version": 2, "k": 1}
    assert for_task(metadata, "c") == {"data_path": "all", "version": 2}
    assert for_task(None, "a") == {}


def test_probe_task_without_request_type_is_rejected():
    from qxbench.lmeval.probe import ProbeTask

    with pytest.raises(TypeError, match="must set REQUEST_TYPE"):
        ProbeTask(config={"task": "x"})
