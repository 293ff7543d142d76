"""The shape of the code: small modules, no import cycles, the rooms of the package (values, caches,
core, the two HTTP adapters, the command line, the testing kit) importing only downwards, a core
that imports no HTTP library, and no runtime module that loads the emulator when imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTTP_LIBRARIES = ("requests", "requests_oauthlib", "urllib3", "httpx")
#: The rooms of the package, lowest first: a module imports only from its own room and the
#: rooms before it. The modules at the top (the public names and module paths) stand above all.
ROOMS = ["values", "events", "cache", "core", "requests_adapter", "httpx_adapter", "testing", "cli"]
#: Rooms that must not import each other although one stands above the other.
APART = {("httpx_adapter", "requests_adapter")}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The package modules ``module`` imports, anywhere (in functions and for type checking
    too: a cycle there is still two modules that cannot be understood apart)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and "." in target:  # the root package is lazy
                yield target, getattr(node, "lineno", 0)


def _cycles(package: str) -> list[list[str]]:
    known = _modules(package)
    graph = {m: sorted({t for t, _ in _imports(m, p, known)}) for m, p in known.items()}
    cycles, state = [], dict.fromkeys(graph, 0)

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in graph[node]:
            if state[target] == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif state[target] == 0:
                visit(target, [*stack, target])
        state[node] = 2

    for node in graph:
        if state[node] == 0:
            visit(node, [node])
    return cycles


@pytest.mark.parametrize("package", ["officernd_auth", "benchmarks"])
def test_no_import_cycles(package: str) -> None:
    assert _cycles(package) == []


@pytest.mark.parametrize("package", ["officernd_auth", "benchmarks"])
def test_no_module_passes_500_lines(package: str) -> None:
    long = {
        name: lines
        for name, path in _modules(package).items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def _room(module: str) -> str:
    """``values``, ``core``... for a module in a room; ``""`` for the package's top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else ""


def test_every_module_is_in_a_room_or_is_a_public_path() -> None:
    top = sorted(m for m in _modules("officernd_auth") if _room(m) == "" and m != "officernd_auth")
    public = {"__main__", "errors", "httpx", "httpx2", "policy", "provider", "scopes", "token",
              "webhooks"}  # fmt: skip
    assert top == [f"officernd_auth.{name}" for name in sorted(public)]


def test_rooms_import_only_downwards() -> None:
    known = _modules("officernd_auth")
    upward = []
    for module, path in known.items():
        room = _room(module)
        if not room:
            continue  # the top imports everything below it
        for target, line in _imports(module, path, known):
            other = _room(target)
            if other == room:
                continue
            if not other or ROOMS.index(other) > ROOMS.index(room) or (room, other) in APART:
                upward.append(f"{module}:{line} -> {target}")
    assert upward == []


def test_the_core_values_and_caches_import_no_http_library() -> None:
    below = [m for m in _modules("officernd_auth") if _room(m) in {"values", "cache", "core"}]
    code = (
        f"import sys; import {', '.join(below)}; "
        f"print([m for m in {HTTP_LIBRARIES!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_runtime_module_imports_the_emulator_when_imported() -> None:
    known = _modules("officernd_auth")
    offenders = []
    for module, path in known.items():
        if module.startswith("officernd_auth.testing"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in top_level:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            text = (getattr(node, "module", None) or "") + " ".join(names)
            if "testing" in text:
                offenders.append(f"{module}:{node.lineno}")
    assert offenders == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "__init__.py").write_text("")
    (tmp_path / "loop" / "a.py").write_text("from .b import x\n")
    (tmp_path / "loop" / "b.py").write_text("def f():\n    from .a import y\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _cycles("loop") == [["loop.a", "loop.b", "loop.a"]]
