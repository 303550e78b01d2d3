"""Reading: lm-eval results files (:mod:`~leaderboard.read.results`, one file; :mod:`~leaderboard.read.runs`, a
directory), their samples files (:mod:`~leaderboard.read.samples`) and ``qxbench study collect``'s ratings
(:mod:`~leaderboard.read.human`), none of it trusted (:mod:`~leaderboard.read.schema`). Imports no other room of
the leaderboard."""
