"""The house's layers: each module of labkit imports only modules of its own layer or of a layer above it.

errors → settings → experiment → versions → oci → results → system → docker → provision → engines → steps → diagnostics → practice → views
→ classroom → the faces (lab, cli, nbtools). Views never reach an engine; only `labkit.engines` knows the modes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LABKIT = Path(__file__).resolve().parents[2] / "labkit"
LAYERS = ["errors", "settings", "experiment", "versions", "oci", "results", "system", "docker", "provision", "engines", "steps",
          "diagnostics", "practice", "views", "classroom", "lab", "cli", "nbtools", "__main__"]
FACES = {"lab", "cli", "nbtools", "__main__"}  # the faces sit side by side at the bottom


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(LABKIT.rglob("*.py")):
        relative = path.relative_to(LABKIT.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("labkit")}
    return {name for name in names if name in MODULES}


MODULES = _modules()


def test_every_labkit_module_has_a_layer() -> None:
    assert sorted({_layer(m) for m in MODULES} - set(LAYERS) - {"__init__"}) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "labkit"))
def test_imports_point_up_the_layers(module: str) -> None:
    own = LAYERS.index(_layer(module))
    wrong = [imported for imported in _imports(MODULES[module]) if imported != "labkit"
             and LAYERS.index(_layer(imported)) > own
             and not (_layer(module) in FACES and _layer(imported) in FACES and _layer(imported) != "lab")]
    assert wrong == [], f"{module} imports from a lower layer"


def test_no_import_cycles() -> None:
    graph = {module: _imports(path) - {module} for module, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                raise AssertionError(" -> ".join([*trail, module, imported]))
            if imported not in state:
                visit(imported, [*trail, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("layer", ["views", "steps", "diagnostics"])
def test_views_steps_and_diagnostics_never_reach_an_engine(layer: str) -> None:
    for module, path in MODULES.items():
        if _layer(module) == layer:
            assert not {m for m in _imports(path) if _layer(m) in ("engines", "provision")}, module


MODE_TEST = re.compile(r"\.mode\s*(?:[!=]=|in\b|not in\b)|[!=]=\s*\"(?:sandbox|rootless|host)\"|"
                       r"\"(?:sandbox|rootless|host)\"\s*[!=]=")
MODE_READ = re.compile(r"settings\.mode\b")


def test_the_mode_is_decided_in_one_place_and_compared_nowhere() -> None:
    """`engines.choose` decides the mode the settings leave open and maps it to a kind of engine; no module asks
    which mode it runs in (an engine's methods differ instead)."""
    assert [module for module, path in MODULES.items() if MODE_TEST.search(path.read_text())] == []
    assert [module for module, path in MODULES.items() if MODE_READ.search(path.read_text())] == ["labkit.engines"]
    assert [module for module, path in MODULES.items() if "def default_mode" in path.read_text()] == ["labkit.engines"]


def test_settings_are_data_and_probe_nothing_of_the_host() -> None:
    """settings.py reads its process's environment only: it imports no program runner, no path lookup, no account
    database, nothing of labkit but errors."""
    tree = ast.parse(MODULES["labkit.settings"].read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported & {"shutil", "subprocess", "pwd", "grp", "sys"} == set()
    assert {name for name in imported if name.startswith("labkit")} == {"labkit.errors"}


def _lab_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(MODULES["labkit.lab"].read_text())
    found = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    lab = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Lab")
    found |= {f"Lab.{node.name}": node for node in lab.body if isinstance(node, ast.FunctionDef)}
    return found


def test_the_face_builds_no_text() -> None:
    """lab.py prints what views made: no f-string, no join or format, no string glued with +."""
    tree = ast.parse(MODULES["labkit.lab"].read_text())
    built = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("join", "format"))
             or (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod))
                 and any(isinstance(side, ast.Constant) and isinstance(side.value, str) for side in (node.left, node.right)))]
    assert built == [], f"lab.py builds text on lines {built}"


def test_the_face_starts_an_engine_in_open_lab_only() -> None:
    """Cells never start an engine: only `open_lab` chooses one and calls `up`."""
    starting = sorted(name for name, node in _lab_functions().items() for call in ast.walk(node)
                      if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                      and (call.func.attr in ("up", "choose") or (isinstance(call.func.value, ast.Name)
                                                                   and call.func.value.id == "engines")))
    assert set(starting) == {"open_lab"}


def test_each_lab_method_is_one_or_two_lines() -> None:
    """A `Lab` method hands one call to a step, a view or the engine (two lines at most, its docstring aside)."""
    long = {name: len(node.body) - 1 for name, node in _lab_functions().items()
            if name.startswith("Lab.") and name != "Lab.__post_init__" and len(node.body) - 1 > 2}
    assert long == {}


def test_views_read_results_and_nothing_that_runs() -> None:
    """Views format results: they import no docker CLI, system probe, engine or provisioning (parsers live beside
    their models, in results and oci)."""
    for module, path in MODULES.items():
        if _layer(module) == "views":
            assert not {m for m in _imports(path) if _layer(m) in ("docker", "system", "engines", "provision")}, module


def test_the_contributing_map_lists_the_layers_in_their_order() -> None:
    """CONTRIBUTING.md's map of the house names every layer, in the order of LAYERS."""
    text = (LABKIT.parent / "CONTRIBUTING.md").read_text()
    block = text.split("```", 2)[1]
    named = [re.split(r"[/.,\s]", line.strip())[0] for line in block.splitlines() if line and not line.startswith(" ")]
    assert named == [layer for layer in LAYERS if layer not in ("cli", "nbtools", "__main__")]


def test_one_module_starts_the_systems_programs() -> None:
    """Only system/run.py imports subprocess: every program the lab runs fails the same way (CommandFailed)."""
    importers = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Import) and any(alias.name == "subprocess" for alias in node.names)) or (
                    isinstance(node, ast.ImportFrom) and node.module == "subprocess"):
                importers.append(module)
    assert sorted(set(importers)) == ["labkit.system.run"]
