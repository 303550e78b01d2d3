"""Rendering: cells -> the static site (:mod:`~leaderboard.render.site`, Jinja2 ``templates/``), its SVG charts
(:mod:`~leaderboard.render.charts`, :mod:`~leaderboard.render.plots`) and its text downloads
(:mod:`~leaderboard.render.text`). Imports compare and read; nothing imports it but the commands."""
