"""The agent's folders and the direction of their imports.

Layers, lowest first: the shared modules at the package's top (files, paths, hosts, faults), then
models/ (sizes, the tiny model, export, out-of-memory messages) and rundir/ (the files of a run folder),
then data/, then training/ and generation/, then serving/. A module imports only from its own layer or
lower ones; cli.py, the entry point, may import anything. The test reads the sources (no imports run).
"""

import ast
import os

import tunelab_agent

TOP = os.path.dirname(tunelab_agent.__file__)
LAYER = {"": 0, "models": 1, "rundir": 1, "data": 2, "training": 3, "generation": 3, "serving": 4}
ENTRY_POINTS = {"cli", "__main__"}


def modules():
    for folder, subdirs, names in os.walk(TOP):
        subdirs[:] = [s for s in subdirs if s != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, TOP)[:-3].replace(os.sep, "."), path


def imported(module: str, path: str):
    """(line, dotted module under tunelab_agent) for every package-internal import, lazy ones included."""
    package = module.rsplit(".", 1)[0] if "." in module else ""
    if module.endswith("__init__"):
        package = module[: -len(".__init__")] if "." in module else ""
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("tunelab_agent"):
                target = node.module[len("tunelab_agent"):].lstrip(".")
            else:
                continue
            names = [a.name for a in node.names]
            for name in names if node.module is None or not node.level and node.module == "tunelab_agent" else [None]:
                full = f"{target}.{name}".lstrip(".") if name else target
                yield node.lineno, full if os.path.exists(os.path.join(TOP, *full.split(".")) + ".py") else target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tunelab_agent."):
                    yield node.lineno, alias.name[len("tunelab_agent."):]


def folder_of(module: str) -> str:
    return module.split(".")[0] if "." in module else ""


def test_every_module_lives_in_a_known_folder():
    assert {folder_of(m) for m, _ in modules()} <= set(LAYER)
    for folder in LAYER:
        if folder:
            assert os.path.isfile(os.path.join(TOP, folder, "__init__.py")), f"{folder}/ is not a package"


def test_imports_point_down_the_layers_only():
    wrong = []
    for module, path in modules():
        if module in ENTRY_POINTS:
            continue
        mine = LAYER[folder_of(module)]
        for line, target in imported(module, path):
            if target and LAYER[folder_of(target)] > mine or (
                    target and folder_of(target) != folder_of(module) and LAYER[folder_of(target)] == mine and mine > 0):
                wrong.append(f"{module} line {line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_data_modules_import_no_circle():
    graph = {}
    for module, path in modules():
        graph[module] = {t for _, t in imported(module, path) if t in dict(modules())}
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError("import circle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in seen:
            return
        stack.append(node)
        for nxt in graph.get(node, ()):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for module in graph:
        if module not in ENTRY_POINTS:
            visit(module)
