"""The layers import only what they may: the timeline package is pure (the model and the
standard library), so what a kind of fact means can be read and tested on its own.
(system/test_startup.py checks the same by importing it in a fresh interpreter.)"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "caltac_inbox"
TIMELINE_MAY_IMPORT = {"caltac_inbox.model"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (also inside functions), dotted."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = ".".join(["caltac_inbox", *path.parent.relative_to(PACKAGE).parts][: None if node.level == 1
                                                                                          else 1 - node.level])
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(node.module or "")
    return found


def test_timeline_imports_only_the_model_and_the_standard_library():
    for path in sorted((PACKAGE / "timeline").glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "caltac_inbox":
                assert name.startswith("caltac_inbox.timeline") or name in TIMELINE_MAY_IMPORT, (path.name, name)
            else:
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
