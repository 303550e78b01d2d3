"""``qxbench sweep``: the configs planned as jobs (:mod:`~leaderboard.sweep.plan`, :mod:`~leaderboard.sweep.job`)
and run (:mod:`~leaderboard.sweep.execute`: here, or as Ray tasks by :mod:`~leaderboard.sweep.ray_executor`).
Writes the results the report side reads; imports no other room of the leaderboard, and none imports it but the
commands."""
