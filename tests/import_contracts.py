"""An import-linter contract that lists what a layer MAY import, not what it may not.

A ban list ("monitor must not import PySide6, sqlalchemy, …") passes every package nobody thought of: pyedflib,
psycopg or platformdirs in the core would go unnoticed. An allow-list fails on anything new, so a new
dependency of a layer is a decision written into pyproject.toml rather than an accident.

Used from pyproject.toml: ``contract_types = ["allowed_imports: tests.import_contracts.AllowedImportsContract"]``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

_STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class _Breach:
    importer: str
    imported: str
    line_numbers: tuple[int, ...]


class AllowedImportsContract(Contract):
    """Every module under ``source_modules`` imports only its own package, the standard library (when
    ``allow_standard_library``) and the top-level packages in ``allowed_modules``.

    Only direct imports are checked: each layer has its own contract, so what a lower layer imports is judged
    by that layer's list.
    """

    type_name = "allowed_imports"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField())
    allow_standard_library = fields.BooleanField(required=False, default=True)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = set(self.allowed_modules)  # type: ignore[arg-type]
        if self.allow_standard_library:
            allowed |= _STANDARD_LIBRARY
        breaches: list[_Breach] = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            own_root = source.split(".")[0]
            for importer in sorted(graph.find_descendants(source) | {source}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    root = imported.split(".")[0]
                    if root == own_root or root in allowed:
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    breaches.append(_Breach(importer, imported, tuple(d["line_number"] for d in details)))
        return ContractCheck(kept=not breaches, warnings=[], metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        allowed = ", ".join(sorted(self.allowed_modules))  # type: ignore[arg-type]
        for breach in check.metadata["breaches"]:
            lines = ", ".join(f"l.{n}" for n in breach.line_numbers)
            output.print_error(f"{breach.importer} imports {breach.imported} ({lines}), which is not allowed.", bold=False)
        output.new_line()
        output.print_error(f"Allowed: the standard library, the package itself, {allowed}.", bold=False)
