"""The rooms of the code and the doors between them (issue 40), read from the source with ``ast`` (no
import runs): every import of a project module, at the top of a file or inside a function (``from a
import b`` where ``a.b`` is a module counts as ``a.b``); an import under ``if TYPE_CHECKING:`` is left out
(it never runs).

- no import circle among the modules of ``qxbench``, ``leaderboard`` and ``lm_eval_tasks``;
- the layers: ``qxbench``'s library never imports ``leaderboard`` or ``lm_eval_tasks`` (only the program's
  entry point ``qxbench/cli.py``, which registers every command, and the rating study ``qxbench/study/``,
  which reads the leaderboard's runs, sit above them); ``leaderboard`` never imports ``lm_eval_tasks``;
  ``lm_eval_tasks`` never imports ``leaderboard``; nothing imports the entry point ``qxbench.cli``;
- the leaderboard's rooms (:data:`LEADERBOARD_ROOMS`): ``read`` (results, samples and ratings files) ->
  ``compare`` (paired differences, guards, FDR marks) -> ``render`` (the site) and ``gate``; ``sweep`` (runs the
  configs) apart, importing none of them and imported by none; ``cli`` on top; the declarations every room reads
  (``display`` and display.yaml, ``twins``, ``fmt``) import no room;
- qxbench's rooms (:data:`QXBENCH_ROOMS`): ``lmeval`` (everything that touches lm-eval) -> ``probes`` (the
  algorithms and their records) -> ``engine`` (model passes), ``interp`` (model internals), ``metrics`` and
  ``data``, which import no room; the probes may import ``qxbench.lmeval.calls`` (lm-eval ``Instance``s, it
  imports lm-eval only), nothing else of ``lmeval``. The start-up hook ``qxbench._lmeval_hook`` (its path is
  fixed by the installed ``.pth`` file) counts as ``lmeval``. The modules outside the rooms (``errors``,
  ``progress``, ``distributed``, ``logs``, ``quant``, ``models``, ``world`` ...) import no room; only the entry
  point ``qxbench.cli`` and the rating study ``qxbench.study`` sit above them;
- lm-eval is reached through one room (:data:`LM_EVAL_ROOM`): only ``qxbench.lmeval``'s modules and
  ``qxbench._lmeval_hook`` import ``lm_eval``. A new module goes through them, never to lm-eval itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository: its packages, never a same-named folder of tests/
PACKAGES = ("qxbench", "leaderboard", "lm_eval_tasks")
LM_EVAL_ROOM = ("qxbench.lmeval", "qxbench._lmeval_hook")  # the modules under these, and only they, import lm_eval
LOWER_ROOMS = ("qxbench.engine", "qxbench.interp", "qxbench.metrics", "qxbench.data")
QXBENCH_ROOMS = {  # room -> the other rooms (or modules of them) it may import; a room imports its own freely
    "qxbench.lmeval": ("qxbench.probes", *LOWER_ROOMS),  # the top: the qx model, the task side, qxbench eval
    "qxbench.probes": (*LOWER_ROOMS, "qxbench.lmeval.calls"),  # calls: lm-eval Instances, nothing else of lmeval
    "qxbench.engine": (),
    "qxbench.interp": (),
    "qxbench.metrics": (),
    "qxbench.data": (),
}
HOOK = "qxbench._lmeval_hook"  # lm-eval's start-up hook: in the lmeval room, at the path the .pth file names
QXBENCH_ABOVE = ("qxbench.cli", "qxbench.study")  # the entry point and the rating study: above every room
DECLARATIONS = ("leaderboard.display", "leaderboard.fmt", "leaderboard.twins")  # what every room reads
REPORT = ("leaderboard.read", "leaderboard.compare", *DECLARATIONS)  # what render and gate build on
LEADERBOARD_ROOMS = {  # room -> the other rooms it may import (the leaderboard's own __init__: none)
    "leaderboard.fmt": (),
    "leaderboard.twins": (),
    "leaderboard.display": ("leaderboard.twins",),
    "leaderboard.read": (),
    "leaderboard.compare": ("leaderboard.read", *DECLARATIONS),
    "leaderboard.render": REPORT,
    "leaderboard.gate": REPORT,  # never render: its report is the command's, with fmt
    "leaderboard.sweep": (),
    "leaderboard.cli": (*REPORT, "leaderboard.render", "leaderboard.gate", "leaderboard.sweep"),
}


@cache
def modules() -> dict[str, Path]:
    """Every module of the three packages: dotted name -> file (a package: its ``__init__.py``)."""
    found = {}
    for package in PACKAGES:
        root = ROOT / package
        for path in sorted(root.rglob("*.py")):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``node``, anywhere but in the body of an ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def _known(name: str) -> str:
    """The project module ``name`` names: itself, else its longest prefix that is one."""
    while name not in modules() and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imported(tree: ast.AST, package: str) -> set[str]:
    """The dotted names the imports of ``tree`` (a module of ``package``) load: ``from a import b`` gives ``a.b``
    where that is a project module, else ``a``; a relative import is resolved against ``package``."""
    names: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [base])])
        names |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base for alias in node.names}
    return names


@cache
def imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(the project modules ``module`` imports, the outside top-level packages it imports)."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = _imported(ast.parse(path.read_text(), str(path)), package)
    ours = {_known(n) for n in names if n.split(".")[0] in PACKAGES}
    return frozenset(ours - {module}), frozenset(n.split(".")[0] for n in names if n.split(".")[0] not in PACKAGES)


def graph() -> dict[str, frozenset[str]]:
    return {m: imports(m)[0] for m in modules()}


def cycles(edges: dict[str, frozenset[str]], limit: int = 50) -> list[list[str]]:
    """The simple circles of ``edges``, each as ``[a, b, ..., a]`` starting at its smallest module (at most
    ``limit``): from each start, paths through larger modules only, so each circle is found once."""
    found: list[list[str]] = []

    def walk(start: str, path: list[str], on_path: set[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if len(found) >= limit:
                return
            if nxt == start:
                found.append([*path, start])
            elif nxt > start and nxt not in on_path:
                walk(start, [*path, nxt], on_path | {nxt})

    for start in sorted(edges):
        walk(start, [start], {start})
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_reader_sees_the_packages_and_their_imports():
    """The reader finds the modules and the imports the rules below rest on (a reader that saw none would pass)."""
    assert sum(_in(m, "qxbench") for m in modules()) > 40
    assert sum(_in(m, "leaderboard") for m in modules()) >= 8
    assert "leaderboard.cli" in imports("qxbench.cli")[0]  # the one direction kept: the entry point -> commands
    assert "qxbench.quant" in imports("leaderboard.sweep.plan")[0]  # inside a function
    assert "qxbench.errors" in imports("leaderboard.display")[0]
    assert "lm_eval" in imports("qxbench.lmeval.adapter")[1]
    assert {"leaderboard.compare.cell", "leaderboard.read.results"} <= imports("leaderboard.compare.pairing")[0]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
                     "def f():\n    import c\n")
    assert [alias.name for node in _import_nodes(tree) for alias in node.names] == ["TYPE_CHECKING", "b", "c"]
    assert _imported(ast.parse("from . import sweep, parse_configs"), "leaderboard") == {"leaderboard.sweep",
                                                                                          "leaderboard"}
    assert _imported(ast.parse("from ..errors import QxError"), "qxbench.study") == {"qxbench.errors"}


def test_no_import_circle():
    """A circle makes the import order matter and hides which room depends on which: move what both sides
    need into a third module (a lower room) instead of importing inside a function or under TYPE_CHECKING."""
    found = cycles(graph())
    more = " (the first 50; break these, then run again)" if len(found) == 50 else ""
    assert not found, f"import circles{more}:\n" + "\n".join(" -> ".join(c) for c in found)
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"a", "c"}), "c": frozenset()}) == [["a", "b", "a"]]


def test_the_layers():
    """qxbench's library -> lm_eval_tasks and leaderboard -> the entry point (qxbench/cli.py) and the study."""
    above = {"qxbench.cli"} | {m for m in modules() if _in(m, "qxbench.study")}
    forbidden = {"qxbench": ("leaderboard", "lm_eval_tasks"), "leaderboard": ("lm_eval_tasks",),
                 "lm_eval_tasks": ("leaderboard",)}
    wrong = [f"{m} imports {d}" for m, deps in sorted(graph().items()) if m not in above for d in sorted(deps)
             if any(_in(d, room) for room in forbidden[m.split(".")[0]])]
    wrong += [f"{m} imports qxbench.cli (the entry point: nothing imports it)"
              for m, deps in sorted(graph().items()) if "qxbench.cli" in deps]
    assert not wrong, "\n".join(wrong)


def _room(module: str) -> str | None:
    """The leaderboard room that holds ``module`` (None: the leaderboard's own ``__init__``, or no room holds it)."""
    return next((room for room in LEADERBOARD_ROOMS if _in(module, room)), None)


def test_the_leaderboard_rooms():
    """Each leaderboard module is in one room and imports only its own room and the rooms LEADERBOARD_ROOMS lets
    it: the data flows read -> compare -> render and the gate; sweep stays apart; cli composes them."""
    board = {m: deps for m, deps in graph().items() if _in(m, "leaderboard")}
    homeless = sorted(m for m in board if m != "leaderboard" and _room(m) is None)
    assert not homeless, f"in no room of LEADERBOARD_ROOMS (add it there, with what it may import): {homeless}"
    wrong = [f"{m} imports {d} ({_room(m)} may import {', '.join(LEADERBOARD_ROOMS.get(_room(m) or '', ())) or 'none'})"
             for m, deps in sorted(board.items()) for d in sorted(deps) if _in(d, "leaderboard")
             and _room(d) != _room(m) and _room(d) not in LEADERBOARD_ROOMS.get(_room(m) or "", ())]
    assert not wrong, "\n".join(wrong)
    assert (_room("leaderboard.read.schema"), _room("leaderboard.gate"), _room("leaderboard")) == (
        "leaderboard.read", "leaderboard.gate", None)


def _qx_room(module: str) -> str | None:
    """The qxbench room that holds ``module`` (None: a module outside the rooms, or the package's ``__init__``)."""
    if module == HOOK:
        return "qxbench.lmeval"
    return next((room for room in QXBENCH_ROOMS if _in(module, room)), None)


def test_the_qxbench_rooms():
    """Each module of a qxbench room imports only its own room and the rooms QXBENCH_ROOMS lets it: the data flows
    lmeval -> probes -> engine, interp, metrics, data. The modules outside the rooms import none of them, but the
    entry point and the rating study, which sit above."""
    ours = {m: deps for m, deps in graph().items() if _in(m, "qxbench")}
    wrong = [f"{m} imports {d} ({room} may import {', '.join(QXBENCH_ROOMS[room]) or 'no other room'})"
             for m, deps in sorted(ours.items()) if (room := _qx_room(m) or "") for d in sorted(deps)
             if _qx_room(d) not in (None, room) and not any(_in(d, a) for a in QXBENCH_ROOMS[room])]
    wrong += [f"{m} imports {d}: a module outside the rooms imports none of them (or it belongs in a room)"
              for m, deps in sorted(ours.items()) if _qx_room(m) is None and not any(_in(m, a) for a in QXBENCH_ABOVE)
              for d in sorted(deps) if _qx_room(d)]
    assert not wrong, "\n".join(wrong)
    assert all(room in modules() for room in QXBENCH_ROOMS), "a room of QXBENCH_ROOMS is no package"
    assert (_qx_room("qxbench.engine.greedy"), _qx_room(HOOK), _qx_room("qxbench.quant.awq"), _qx_room("qxbench")) == (
        "qxbench.engine", "qxbench.lmeval", None, None)


def test_lm_eval_is_imported_only_by_its_room():
    """The modules that import lm-eval are qxbench.lmeval's and the start-up hook; any other goes through them."""
    touching = {m for m in modules() if "lm_eval" in imports(m)[1]}
    outside = sorted(m for m in touching if not any(_in(m, room) for room in LM_EVAL_ROOM))
    assert not outside, (f"{', '.join(outside)} import(s) lm_eval: go through the lm-eval room "
                         f"({', '.join(LM_EVAL_ROOM)}) instead")
    assert {HOOK, "qxbench.lmeval.adapter", "qxbench.lmeval.calls", "qxbench.lmeval.probe"} <= touching  # read


def test_benchmarks_import_as_a_package():
    """benchmarks/ is run as ``python -m benchmarks.<kind>.<name>`` and shares benchmarks/common.py: no script
    puts a folder on sys.path (a bare ``probes`` once shadowed qxbench.probes)."""
    found = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "benchmarks").rglob("*.py"))
             if "results" not in p.parts and "sys.path.insert" in p.read_text()]
    assert not found, f"sys.path.insert in {found}"
