"""qxbench's lm-eval tasks: one folder per probe (YAML + utils.py with its metric functions).

lm-eval finds this folder without ``--include_path`` through qxbench's start-up hook.
"""
