"""The layering contracts (house-style §1) are part of the test suite, not only of CI."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

from tests.import_contracts import AllowedImportsContract

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_are_kept():
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    p = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"{len(contracts)} kept, 0 broken" in p.stdout


def _contract(allowed: list[str]) -> AllowedImportsContract:
    options = {"source_modules": ["core"], "allowed_modules": allowed}
    return AllowedImportsContract(name="core", session_options={}, contract_options=options)


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for module in ("core", "core.clock", "core.alarms", "ui"):
        graph.add_module(module)
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents=f"import {imported}")
    return graph


def test_allow_list_refuses_a_package_nobody_banned():
    """The point of an allow-list: psycopg was in no ban list, and it breaks the contract."""
    check = _contract(["numpy"]).check(_graph(("core.clock", "numpy"), ("core.alarms", "psycopg")), verbose=False)
    assert not check.kept
    assert [(b.importer, b.imported) for b in check.metadata["breaches"]] == [("core.alarms", "psycopg")]


def test_allow_list_accepts_the_standard_library_the_package_itself_and_the_list():
    graph = _graph(("core.clock", "time"), ("core.alarms", "core.clock"), ("core.alarms", "numpy"), ("core", "__future__"))
    assert _contract(["numpy"]).check(graph, verbose=False).kept


def test_allow_list_refuses_an_upper_layer_not_on_the_list():
    check = _contract(["numpy"]).check(_graph(("core.alarms", "ui")), verbose=False)
    assert not check.kept


def test_app_modules_import_no_cycle():
    """app/ is checked for cycles between its modules (cli.py and review_cmd.py once imported each other)."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert any(c["type"] == "acyclic_siblings" and c["ancestors"] == ["app"] for c in contracts)
    graph = grimp.build_graph("app", "ui", "devices", "recordings", "monitor")
    children = sorted(graph.find_children("app"))
    cycles = [
        (a, b)
        for a in children
        for b in children
        if a < b
        and graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]
    assert not cycles, f"app modules import each other: {cycles}"
