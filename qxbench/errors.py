"""The one error type qxbench raises for bad input: its message is a single line that names
the bad value and the choices. The CLI prints it as ``qxbench: error: ...`` and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class QxError(ValueError):
    """Bad input or an unmet request. ``str(err)`` is one line."""


def unknown(kind: str, value: object, choices: Iterable[str]) -> QxError:
    """``Unknown quantizer 'gtpq'. Did you mean 'gptq'? Available: awq, gptq, none``."""
    options = sorted(choices)
    close = difflib.get_close_matches(str(value), options, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return QxError(f"Unknown {kind} '{value}'.{hint} Available: {', '.join(options) or '(none)'}")


def first_line(err: BaseException) -> str:
    """The first non-empty line of an exception's message (libraries' messages can be long)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
