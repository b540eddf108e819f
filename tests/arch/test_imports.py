"""The package structure: no import cycle (function-level imports included: an import inside a function
must not hide one) and every import follows the allowed directions between the packages of `pipelines`.

Layers, bottom up: settings, contracts, specs (typed configuration) -> storage -> adapters -> harmonise -> quality -> pipeline (the
steps) -> monitor (harvest, punctuality) -> defs (Dagster) -> service (portal) -> cli. Development tools
live outside the runtime package, in ``tools/`` (benchmarks, reference builders, the template generator,
the served-portal launcher): they may import the runtime, never the reverse (last test).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "pipelines"

ALLOWED = {
    "settings": set(),
    "docs_ref": set(),                      # where docs/ONBOARDING.md explains each error (no imports)
    "yamlio": set(),                        # YAML on libyaml, errors as yaml.safe_load gives them (no imports)
    "contracts": {"settings"},
    "i18n": {"settings", "yamlio"},                   # languages, catalogues, negotiation, Babel formatting
    "specs": {"settings", "yamlio", "docs_ref"},      # typed configuration (source specs, crosswalk rows), checked at load
    "storage": {"settings", "contracts"},
    "adapters": {"settings", "contracts", "storage", "docs_ref", "specs", "i18n"},
    "harmonise": {"settings", "contracts", "storage", "adapters", "docs_ref", "specs", "i18n"},
    "quality": {"settings", "yamlio", "contracts", "storage", "adapters", "harmonise", "specs", "i18n"},
    "pipeline": {"settings", "yamlio", "contracts", "storage", "adapters", "harmonise", "quality", "specs", "i18n"},
    "monitor": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "pipeline", "specs", "i18n"},
    "samples": {"settings", "storage", "adapters", "specs"},
    "onboarding": {"settings", "adapters", "harmonise", "docs_ref", "specs", "i18n"},
    "doctor": {"settings", "contracts", "adapters", "harmonise", "onboarding", "quality", "docs_ref", "specs", "i18n"},
    "publication": {"settings", "yamlio", "contracts", "storage", "harmonise", "quality", "pipeline", "specs", "i18n"},
    "knowledge": {"settings", "yamlio", "contracts", "storage", "adapters", "harmonise", "quality", "specs", "i18n"},
    "site": {"settings", "contracts", "storage", "harmonise", "quality", "pipeline", "publication", "knowledge",
             "specs", "i18n"},
    "network": {"settings", "yamlio", "contracts", "storage", "harmonise", "knowledge", "specs", "i18n"},
    "warehouse": {"settings", "storage", "publication"},   # the analysts' entry point: from pipelines import warehouse
    "defs": {"settings", "contracts", "storage", "adapters", "harmonise", "quality", "pipeline", "monitor", "specs", "i18n"},
    "definitions": {"defs"},
    "service": {"settings", "yamlio", "contracts", "storage", "adapters", "harmonise", "quality", "pipeline", "defs", "specs", "i18n",
                "publication", "knowledge", "network", "site"},
    "cli_export": {"settings", "publication"},   # hemistat export (issue 15 item 2)
    "cli_site": {"settings", "site"},          # `hemistat site` (pipelines/cli_site.py, registered by cli.py)
    "cli": {"cli_export", "settings", "contracts", "storage", "adapters", "harmonise", "quality", "pipeline", "monitor", "defs",
            "service", "samples", "doctor", "onboarding", "specs", "i18n", "publication", "knowledge", "network",
            "site", "warehouse", "cli_practices", "cli_catalogue", "cli_network", "cli_releases", "cli_site"},
    "cli_practices": {"settings", "knowledge", "i18n"},     # `hemistat practices …` (issue 16)
    "cli_catalogue": {"settings", "i18n", "knowledge"},   # hemistat courses | survey | gaps | fund (issue 16)
    "cli_network": {"settings", "service", "network"},   # `hemistat network …` (issue 17)
    "cli_releases": {"settings", "publication"},   # `hemistat releases` (issue 15)
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


def test_the_runtime_never_imports_development_tools_or_tests():
    """``tools/`` and ``tests/`` are not shipped (pyproject packages ``pipelines*`` only): nothing in
    ``pipelines`` may import them, at module level or inside a function."""
    bad = []
    for m, p in _modules().items():
        for node in ast.walk(ast.parse(p.read_text("utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            bad += [f"{m} imports {n}" for n in names if n.split(".")[0] in ("tools", "tests")]
    assert not bad, bad
