"""Comparing: one :class:`~leaderboard.compare.cell.Cell` per (model, config, task, metric), paired with full
precision over the same documents (:mod:`~leaderboard.compare.pairing`), its validity guards
(:mod:`~leaderboard.compare.guards`), what the logged labels add (:mod:`~leaderboard.compare.labels`), the
Benjamini–Hochberg marks, and the index's summary (:mod:`~leaderboard.compare.summary`). Imports the runs of
:mod:`leaderboard.read` and the declarations of :mod:`leaderboard.display`; never render, gate or sweep."""
