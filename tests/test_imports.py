"""Imports inside ``pipeline/`` run one way (issue 28): no circle, no arrow back up, no reach
into another module's private names.

Read from the source with ``ast`` (nothing is imported), counting the imports inside functions
too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pipeline"

# the layers above the stages: nothing below them may import them
TOP = ("pipeline.cli", "pipeline.eval", "pipeline.run", "pipeline.pipeline")
# the layers that stages, models and shared pieces live in
LOW = ("pipeline.stages", "pipeline.nli", "pipeline.config", "pipeline.types", "pipeline.errors",
       "pipeline.threads", "pipeline.onnx_cache")

# (importer, module, name): private names read across modules that another change is
# moving (none left: the segment split made the dateline helpers public in datelines.py)
PENDING_PRIVATE: set[tuple[str, str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _resolve(importer: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str) -> list[tuple[str, str, int]]:
    """``(module imported, name imported or "", line)`` for every pipeline import in ``name``."""
    path = MODULES[name]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.split(".")[0] == "pipeline"]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, path, node)
            if mod.split(".")[0] != "pipeline":
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                # `from pipeline.nli import model` imports the module pipeline.nli.model
                out.append((sub, "", node.lineno) if sub in MODULES else (mod, a.name, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports (itself left out)."""
    return {m: {t for t, _, _ in imports_of(m) if t != m and t in MODULES} for m in MODULES}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_checker_sees_a_cycle_and_lazy_imports():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # pipeline.pipeline imports the model lazily, inside a function: still an arrow
    assert "pipeline.nli.model" in graph()["pipeline.pipeline"]
    assert "pipeline.stages.evidence" in graph()["pipeline.stages.decide"]


def test_no_import_cycles():
    assert cycles(graph()) == []


@pytest.mark.parametrize("name", sorted(m for m in MODULES if _under(m, LOW)))
def test_low_layers_never_import_the_run_layer_cli_or_eval(name):
    up = sorted({t for t, _, _ in imports_of(name) if _under(t, TOP)})
    assert up == [], f"{name} imports {up}"


def test_the_pipeline_never_imports_the_run_layer_cli_or_eval():
    up = {t for t, _, _ in imports_of("pipeline.pipeline") if _under(t, TOP) and t != "pipeline.pipeline"}
    assert up == set()


def test_nothing_imports_the_cli_and_the_run_layer_never_imports_eval():
    for name in MODULES:
        targets = {t for t, _, _ in imports_of(name)}
        if name != "pipeline.cli":
            assert "pipeline.cli" not in targets, name
        if _under(name, ("pipeline.run",)):
            assert not any(_under(t, ("pipeline.eval",)) for t in targets), name


def test_stages_evidence_decide_one_way():
    g = graph()
    stages = {m for m in MODULES if m.startswith("pipeline.stages.")}
    # quantities and evidence sit under every stage that reads them
    assert g["pipeline.stages.quantities"] & stages == set()
    assert g["pipeline.stages.evidence"] & stages <= {"pipeline.stages.quantities"}
    # the decision is the last stage: no other stage imports it
    assert [m for m in stages if "pipeline.stages.decide" in g[m]] == []


def test_no_module_reads_another_modules_private_names():
    found = []
    for name in MODULES:
        for mod, attr, line in imports_of(name):
            if (attr.startswith("_") and not attr.startswith("__") and mod != name
                    and (name, mod, attr) not in PENDING_PRIVATE):
                found.append(f"{name}:{line} imports {mod}.{attr}")
        # `from pipeline.nli import model as nli` ... `nli._CACHE`
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    if f"{node.module}.{a.name}" in MODULES:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in MODULES:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__") and aliases[node.value.id] != name):
                found.append(f"{name}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    assert found == []


def test_the_shared_base_imports_only_the_base():
    base = {"pipeline", "pipeline.errors", "pipeline.types", "pipeline.threads", "pipeline.config",
            "pipeline.onnx_cache"}
    g = graph()
    assert {m: sorted(g[m] - base) for m in sorted(base) if g[m] - base} == {}


# the pieces segment.py is built from (issue 28 item 4): each in its own module, below the stage
SEGMENT_PIECES = ("pipeline.stages.nlp", "pipeline.stages.windows", "pipeline.stages.quotes",
                  "pipeline.stages.datelines", "pipeline.stages.mentions", "pipeline.stages.attribution_rules")


def test_the_segment_pieces_sit_below_the_segment_stage():
    g = graph()
    assert all(p in MODULES for p in SEGMENT_PIECES)
    # the stage imports its pieces; no piece imports the stage or the stages after it
    assert set(SEGMENT_PIECES) <= g["pipeline.stages.segment"]
    later = {"pipeline.stages.segment", "pipeline.stages.attribute", "pipeline.stages.decide"}
    assert {p: sorted(g[p] & later) for p in SEGMENT_PIECES if g[p] & later} == {}
    # quote regions and datelines are read off the text alone
    assert g["pipeline.stages.quotes"] == set() and g["pipeline.stages.datelines"] == set()
    # spaCy is loaded from nlp.py: only the pipeline builds the segmenter itself
    assert sorted(m for m in MODULES if "pipeline.stages.segment" in g[m]) == ["pipeline.pipeline"]
