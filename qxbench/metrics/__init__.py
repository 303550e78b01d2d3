"""Metrics the probe tasks share: per-document scores and aggregations (``shared``), text similarity of
explanations and rewrites (``similarity``). Imports no other room; each task's own metrics live in its
``lm_eval_tasks/<task>/utils.py``."""
