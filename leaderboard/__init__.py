"""Leaderboard and regression gate: lm-eval results of ``--model qx`` runs -> paired differences
against full precision -> a static site (``qxbench leaderboard build``) or a verdict (``qxbench gate``).

- :mod:`leaderboard.runs`: read results JSON and per-sample logs into :class:`~leaderboard.runs.Run`.
- :mod:`leaderboard.compare`: pair every quantized run with its model's full-precision run.
- :mod:`leaderboard.display`: display names and metric directions, from ``display.yaml``.
- :mod:`leaderboard.cell`: one cell of the table; :mod:`leaderboard.fmt`: its one number format.
- :mod:`leaderboard.site`: render the static site; :mod:`leaderboard.plots`: its SVG charts.
- :mod:`leaderboard.gate`: thresholds -> exit status; :mod:`leaderboard.cli`: the commands.
"""
