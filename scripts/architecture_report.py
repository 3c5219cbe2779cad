"""Print the shape of the product code: module sizes, long functions, complexity and import
circles. Run it before and after a restructuring to compare (`make architecture`).

    .venv/bin/python scripts/architecture_report.py [--json]

Sizes count every line of a module; long functions are those over 60 lines; complexity is
ruff's McCabe measure (C901); circles are the strongly connected groups of modules in the
import graph that grimp builds (imports inside functions count too: they still tie modules).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "elicitation", "moralgraph", "inference", "frontend")
MODULE_LINES_LIMIT = 400
FUNCTION_LINES_LIMIT = 60
COMPLEXITY_LIMIT = 15
_TOO_COMPLEX = re.compile(r"`(?P<name>[^`]+)` is too complex \((?P<score>\d+) > \d+\)")


def product_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def long_functions(paths: list[Path]) -> list[tuple[str, int]]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES_LIMIT:
                    found.append((f"{path.relative_to(ROOT)}:{node.name}", length))
    return sorted(found, key=lambda item: -item[1])


def complexities() -> list[tuple[str, int]]:
    """Every function with a McCabe complexity over 10, worst first."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [
            str(ruff),
            "check",
            "--isolated",
            "--select",
            "C901",
            "--config",
            "lint.mccabe.max-complexity=10",
            "--exclude",
            "*/migrations/*",
            "--output-format",
            "json",
            *PACKAGES,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    found = []
    for item in json.loads(result.stdout or "[]"):
        match = _TOO_COMPLEX.search(item["message"])
        if match:
            where = Path(item["filename"]).relative_to(ROOT)
            found.append((f"{where}:{match['name']}", int(match["score"])))
    return sorted(found, key=lambda item: -item[1])


def import_circles() -> list[list[str]]:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    digraph = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            # A package importing its own submodules (re-exports) is not a circle of logic.
            if not imported.startswith(module + "."):
                digraph.add_edge(module, imported)
    return sorted(
        sorted(group) for group in nx.strongly_connected_components(digraph) if len(group) > 1
    )


def main() -> None:
    paths = product_modules()
    sizes = sorted(
        (
            (str(p.relative_to(ROOT)), len(p.read_text(encoding="utf-8").splitlines()))
            for p in paths
        ),
        key=lambda item: -item[1],
    )
    report: dict[str, Any] = {
        "modules": len(paths),
        "lines": sum(n for _, n in sizes),
        "largest_modules": sizes[:10],
        "modules_over_limit": [s for s in sizes if s[1] > MODULE_LINES_LIMIT],
        "functions_over_60_lines": long_functions(paths),
        "complexity_over_10": complexities(),
        "import_circles": import_circles(),
    }
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['modules']} product modules, {report['lines']} lines")
    print(f"modules over {MODULE_LINES_LIMIT} lines: {len(report['modules_over_limit'])}")
    for name, lines in report["modules_over_limit"]:
        print(f"  {lines:5d}  {name}")
    print(f"functions over {FUNCTION_LINES_LIMIT} lines: {len(report['functions_over_60_lines'])}")
    for name, lines in report["functions_over_60_lines"]:
        print(f"  {lines:5d}  {name}")
    worst = report["complexity_over_10"]
    over = [item for item in worst if item[1] > COMPLEXITY_LIMIT]
    print(f"functions with complexity over 10: {len(worst)}; over {COMPLEXITY_LIMIT}: {len(over)}")
    for name, score in worst:
        print(f"  {score:5d}  {name}")
    print(f"import circles: {len(report['import_circles'])}")
    for group in report["import_circles"]:
        print("  " + " <-> ".join(group))


if __name__ == "__main__":
    main()
