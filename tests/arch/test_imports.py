"""The package structure: no import cycle (function-level imports included: an import inside a function
must not hide one) and every import follows the allowed directions between the packages of `pipelines`.

Layers, bottom up: settings, contracts -> storage -> adapters -> harmonise -> quality -> steps (the
pipeline's steps) -> harvest -> defs (Dagster) -> service (portal) -> cli; development tools (bench,
refbuild, templates, synthetic, doctor …) may import the runtime, never the reverse.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "pipelines"

ALLOWED = {
    "settings": set(),
    "docs_ref": set(),                      # where docs/ONBOARDING.md explains each error (no imports)
    "iccs_suggest": {"settings", "harmonise"},
    "contracts": {"settings"},
    "i18n": {"settings"},                   # languages, catalogues, negotiation, Babel formatting
    "storage": {"settings", "contracts"},
    "adapters": {"settings", "contracts", "storage", "docs_ref", "i18n"},
    "harmonise": {"settings", "contracts", "storage", "adapters", "docs_ref", "i18n"},
    "quality": {"settings", "contracts", "storage", "adapters", "harmonise", "i18n"},
    "steps": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "i18n"},
    "harvest": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "steps", "i18n"},
    "discovery": {"settings", "adapters", "synthetic"},
    "synthetic": {"settings", "storage"},
    "onboarding": {"settings", "adapters", "harmonise", "iccs_suggest", "docs_ref", "i18n"},
    "doctor": {"settings", "contracts", "adapters", "harmonise", "onboarding", "quality", "docs_ref", "i18n"},
    "defs": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "steps", "harvest", "i18n"},
    "definitions": {"defs"},
    "service": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "steps", "defs", "i18n"},
    "cli": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "steps", "harvest", "defs",
            "service", "discovery", "doctor", "synthetic", "onboarding", "templates", "i18n"},
    # development tools (outside the runtime's import graph)
    "templates": {"settings", "storage"},
    "refbuild": {"settings", "storage", "contracts"},
    "bench": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "steps", "synthetic"},
    "bench_portal": {"settings", "service", "synthetic"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = ("pipelines",) + p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text("utf-8"))):   # every import, in functions too
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
                    base = ".".join(pkg[:len(pkg) - node.level + 1] + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                # `from pkg import submodule` imports the submodule; any other name comes from pkg itself
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and t != "pipelines":
                    edges.setdefault(m, set()).add(t)
    return edges


def _package(m: str) -> str:
    return m.split(".")[1] if m.count(".") else m


def test_no_import_cycle():
    mods = _modules()
    edges = _edges(mods)
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(mods):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_imports_follow_the_allowed_directions():
    mods = _modules()
    bad = sorted({(_package(a), _package(b), a, b) for a, ts in _edges(mods).items() for b in ts
                  if _package(a) != _package(b) and _package(b) not in ALLOWED.get(_package(a), set())})
    unknown = sorted({_package(m) for m in mods} - set(ALLOWED) - {"pipelines"})
    assert not unknown, f"packages without a declared place in the layers: {unknown}"
    assert not bad, "imports against the layers:\n" + "\n".join(f"{a} -> {b} ({x} imports {y})" for a, b, x, y in bad)
