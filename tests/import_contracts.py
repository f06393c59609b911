"""An import-linter contract that import-linter 2.17 does not ship: no import cycle between the modules of a package.

Its built-in ``acyclic_siblings`` contract looks for cycles between the *children* of a package at every depth, each
child taken with everything below it; this one looks at single modules, which is what "no import cycles between app
modules" means: two features may depend on each other's models without a module importing itself through others.
Imports inside functions count like any other (grimp reads them all).
"""
from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def import_cycles(graph: ImportGraph, modules: set[str]) -> list[list[str]]:
    """Return every strongly connected group of two or more modules (or a module importing itself), each sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def edges(module: str) -> list[str]:
        return sorted(graph.find_modules_directly_imported_by(module) & modules)

    for root in sorted(modules):
        if root in index:
            continue
        # Tarjan's algorithm, iteratively: a package's import chains can be deeper than Python's recursion limit.
        work = [(root, iter(edges(root)))]
        index[root] = lowest[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = lowest[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges(target))))
                    advanced = True
                    break
                if target in on_stack:
                    lowest[module] = min(lowest[module], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowest[parent] = min(lowest[parent], lowest[module])
            if lowest[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in graph.find_modules_directly_imported_by(module):
                    cycles.append(sorted(group))
    return sorted(cycles)


class AcyclicModulesContract(Contract):
    """No module of ``containers`` (or below them) reaches itself again through the imports of the others.

    Configuration: ``containers``, the packages whose modules are checked (a list).
    """

    type_name = "acyclic_modules"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        modules = set()
        for container in self.containers:  # type: ignore[attr-defined]
            modules |= {container, *graph.find_descendants(container)}
        cycles = import_cycles(graph, modules)
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles, "graph": graph})

    def render_broken_contract(self, check: ContractCheck) -> None:
        graph: ImportGraph = check.metadata["graph"]
        for cycle in check.metadata["cycles"]:
            output.print_error(f"Import cycle between {len(cycle)} modules:", bold=True)
            members = set(cycle)
            for importer in cycle:
                for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
                    lines = ", ".join(str(detail["line_number"]) for detail in
                                      graph.get_import_details(importer=importer, imported=imported))
                    output.print_error(f"- {importer} -> {imported} (l. {lines})", bold=False)
            output.new_line()
