"""Build hook: put ``qxbench_lmeval.pth`` at the top of site-packages (regular and editable wheels).

The file runs ``qxbench._lmeval_hook.install_at_startup()`` when Python starts, which is what lets
``lm_eval --model qx`` and qxbench's tasks work without flags (see that module's docstring).
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PTH = "qxbench_lmeval.pth"


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        build_data["force_include"][PTH] = PTH
        build_data.setdefault("force_include_editable", {})[PTH] = PTH
