"""The layers import only what they may: the timeline package is pure (the model and the
standard library), so what a kind of fact means can be read and tested on its own; no
layer below the command line imports it; and no chain of imports runs in a circle.
Imports inside functions count. (system/test_startup.py checks what a command imports
by running it in a fresh interpreter.)"""
from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path
from typing import Iterator

PACKAGE = Path(__file__).resolve().parents[2] / "caltac_inbox"
TIMELINE_MAY_IMPORT = {"caltac_inbox.model"}


@functools.cache  # each file is parsed once a run: the checks below share what it imports
def _import_statements(path: Path) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of a file, at any depth (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return tuple(node for node in _statements(tree.body) if isinstance(node, (ast.Import, ast.ImportFrom)))


def _statements(body: list) -> Iterator[ast.AST]:
    """Every statement in `body` and in the statements' own bodies, at any depth: an import
    is a statement, so the expressions (most of a file's nodes) need not be visited."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):  # every list that holds statements
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (also inside functions), dotted."""
    found = set()
    for node in _import_statements(path):
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


def _module_name(path: Path) -> str:
    parts = ["caltac_inbox", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _internal_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The caltac_inbox modules a file imports, also inside functions: `from a.b import c`
    counts as a.b.c when that is a module, else as a.b."""
    found = set()
    for node in _import_statements(path):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = next(iter(_imports_of(node, path)))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def _imports_of(node: ast.ImportFrom, path: Path) -> set[str]:
    if node.level:
        base = ".".join(["caltac_inbox", *path.parent.relative_to(PACKAGE).parts][: None if node.level == 1
                                                                                  else 1 - node.level])
        return {f"{base}.{node.module}" if node.module else base}
    return {node.module or ""}


@functools.cache  # the package does not change during a run; four tests read one graph
def _import_graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    return {name: frozenset(_internal_imports(path, modules) - {name}) for name, path in modules.items()}


def test_no_lower_layer_imports_the_command_line():
    """Only the CLI package imports the CLI: the web server, the pipeline, the store and
    the pure layers stand without it (imports inside functions count too)."""
    for name, imported in _import_graph().items():
        if name in ("caltac_inbox.cli", "caltac_inbox.__main__") or name.startswith("caltac_inbox.cli."):
            continue  # the CLI itself, and `python -m caltac_inbox` that runs it
        assert not {i for i in imported if i == "caltac_inbox.cli" or i.startswith("caltac_inbox.cli.")}, name


def test_the_store_does_not_import_the_pipeline():
    """The store writes what it is handed (store.writer.Store.store_batch): reading sources, parsing and
    classifying are the pipeline's, which calls down into the store and never the reverse."""
    for name, imported in _import_graph().items():
        if name == "caltac_inbox.store" or name.startswith("caltac_inbox.store."):
            assert "caltac_inbox.pipeline" not in imported, name


def test_the_web_server_reads_and_writes_through_the_store_not_the_pipeline():
    """The web page never parses or classifies mail: it reads through store.open_reader and
    repairs or edits through store.writer, so serving does not load the mail parser."""
    for name, imported in _import_graph().items():
        if name == "caltac_inbox.web" or name.startswith("caltac_inbox.web."):
            assert "caltac_inbox.pipeline" not in imported, name


def test_cli_options_is_a_leaf_of_the_command_line():
    imported = _import_graph()["caltac_inbox.cli.options"]
    assert not {i for i in imported if i.startswith("caltac_inbox.cli")}, imported


def test_no_command_module_imports_another():
    """A command group's module (cli/__init__.py's LAZY_COMMANDS) imports only the shared
    CLI modules (options, selection, app, columns, ...), never another command group's:
    what two commands share lives below both (web/address.py holds the server's default
    URL for `feed create` and `editor add`)."""
    from caltac_inbox.cli import LAZY_COMMANDS

    commands = {command.path.split(":")[0] for command in LAZY_COMMANDS.values()}
    graph = _import_graph()
    assert len(commands) >= 8 and commands <= set(graph)
    crossing = {name: sorted(graph[name] & commands) for name in sorted(commands) if graph[name] & commands}
    assert not crossing, crossing


def test_the_import_graph_has_no_circle():
    """No module imports, through any chain and also from inside a function, a module that
    imports it back: each layer can be read, tested and changed from the bottom up."""
    graph = _import_graph()
    circles = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph.get(name, ())):
            if state.get(target) == 1:
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_import_graph_sees_imports_inside_functions():
    """The checks above would pass vacuously if they missed a function-level import."""
    graph = _import_graph()
    assert "caltac_inbox.store.db" in graph["caltac_inbox.store.writer"]  # only a Store's methods import it
    assert "caltac_inbox.cli.app" in graph["caltac_inbox.cli"]  # main() imports App when it runs
