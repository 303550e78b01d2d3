"""Leaderboard and regression gate: lm-eval results of ``--model qx`` runs -> paired differences
against full precision -> a static site (``qxbench leaderboard build``) or a verdict (``qxbench gate``);
and ``qxbench sweep``, which produces those results.

Rooms by concern, the data flowing one way (``tests/test_layers.py`` checks which room imports which):

- :mod:`leaderboard.display` (+ ``display.yaml``), :mod:`leaderboard.twins`, :mod:`leaderboard.fmt`: what each
  metric is (names, directions, guards), the names of the label-agreeing twins, the one number format; every
  room reads them, they import no room.
- :mod:`leaderboard.read`: results and samples files, human ratings -> :class:`~leaderboard.read.results.Run`;
  nothing read is trusted.
- :mod:`leaderboard.compare`: runs -> :class:`~leaderboard.compare.cell.Cell`s: paired differences against full
  precision, validity guards, labels, the false-discovery-rate marks, the index's summary; imports read.
- :mod:`leaderboard.render`: cells -> the static site (HTML, SVG charts, JSON/CSV/Markdown); imports compare, read.
- :mod:`leaderboard.gate`: thresholds -> exit status; imports compare, read (never render).
- :mod:`leaderboard.sweep`: ``qxbench sweep``: plan the configs, run them here or on Ray; imports no other room.
- :mod:`leaderboard.cli`: the commands, on top of every room.
"""
