from qxbench.errors import QxError, unknown


def test_unknown_names_value_choices_and_suggestion():
    err = unknown("quantizer", "gtpq", ["none", "gptq", "awq"])
    assert isinstance(err, QxError)
    assert str(err) == "Unknown quantizer 'gtpq'. Did you mean 'gptq'? Available: awq, gptq, none"


def test_unknown_without_close_match_is_one_line():
    msg = str(unknown("task", "zzz", ["world_onehop"]))
    assert "Did you mean" not in msg
    assert "\n" not in msg
    assert "'zzz'" in msg
