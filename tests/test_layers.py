"""The floor plan of the package: every module imports only from layers below its own (imports
inside functions included), every module imports on its own, and the install names every
subpackage. These are the guards that keep the house standing."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rramsim"

#: Layer of every top-level module or subpackage of rramsim, lowest first. A module may import
#: from a strictly lower layer, or from its own module / subpackage; never from a sibling of
#: the same layer or from above. (The package root, ``rramsim/__init__.py``, only re-exports
#: the configuration and is not part of any layer.)
LAYERS = {
    "_version": 0, "errors": 0,
    "validation": 1, "rng": 1, "results": 1,
    "kernels": 2,
    "config": 3,
    "analog": 4,
    "nn": 5,
    "metrics": 6, "data": 6,
    "training": 7,
    "networks": 8, "inference": 8, "analysis": 8,
    "experiments": 9, "plotting": 9,
    "cli": 10,
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _rramsim_imports(path: Path, module: str):
    """``(imported module, line)`` for every import of rramsim in ``path``, at any depth."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "rramsim":
                    yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "rramsim":
                continue
            if target == "rramsim":  # from rramsim import x: x may be a submodule
                for a in node.names:
                    yield f"rramsim.{a.name}", node.lineno
            else:
                yield target, node.lineno


def _group(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_has_a_layer():
    unknown = sorted({_group(m) for m, _ in _modules()} - set(LAYERS) - {None})
    assert not unknown, f"modules without a layer in tests/test_layers.py: {unknown}"


def test_imports_only_go_down():
    upward = []
    for module, path in _modules():
        group = _group(module)
        if group is None:
            continue
        for target, line in _rramsim_imports(path, module):
            tgroup = _group(target)
            if tgroup is None:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the package root")
                continue
            if tgroup == group:
                continue
            if tgroup not in LAYERS:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports unknown {target}")
            elif LAYERS[tgroup] >= LAYERS[group]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {group} (layer "
                              f"{LAYERS[group]}) imports {target} (layer {LAYERS[tgroup]})")
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_the_guard_catches_an_upward_import(tmp_path):
    """The checker itself: an import inside a function, from nn up to networks, is caught."""
    path = tmp_path / "bad.py"
    path.write_text("def f():\n    from rramsim.networks import build_mlp\n")
    found = list(_rramsim_imports(path, "rramsim.nn.bad"))
    assert found == [("rramsim.networks", 2)]
    assert LAYERS[_group(found[0][0])] > LAYERS["nn"]


def test_root_reexports_only_configuration():
    targets = {t for t, _ in _rramsim_imports(PACKAGE / "__init__.py", "rramsim")}
    assert targets <= {"rramsim._version", "rramsim.config", "rramsim.errors"}


@pytest.mark.slow
def test_every_module_imports_alone():
    """Each module in a fresh interpreter: no circle hidden by import order."""
    names = [m for m, _ in _modules() if not m.endswith(".__main__")]  # entry points run
    code = ("import importlib, sys\nbad = []\nfor name in sys.argv[1:]:\n"
            "    for k in [k for k in sys.modules if k.startswith('rramsim')]:\n"
            "        del sys.modules[k]\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception as exc:\n        bad.append(f'{name}: {exc!r}')\n"
            "print('\\n'.join(bad))\nsys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_install_names_every_subpackage():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(conf["tool"]["setuptools"]["packages"])
    on_disk = {"rramsim"} | {f"rramsim.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert on_disk <= listed, f"subpackages missing from pyproject.toml: {on_disk - listed}"
    assert conf["tool"]["setuptools"]["package-dir"]["rramsim.device_presets"] == "devices"
