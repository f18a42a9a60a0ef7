"""Build the release's standalone ``scoring.py``: one file that needs only ``datasets`` installed.

The script carries the very modules ``mmmtif score`` runs (``generator.core.text``, ``generator.core.instructions``,
``generator.core.answers``, ``generator.scoring`` and the standard-library-only ``generator`` modules they import at
module level) as source strings, installed under their own names by a small import hook, so both paths give the
same report byte for byte. ``argparse`` replaces click; the report schema is embedded and checked when
``jsonschema`` happens to be installed.

Building refuses a module-level import of anything outside the standard library and the embedded modules, so a
dependency added to the checker side fails here instead of in a user's environment. The output is deterministic
(modules sorted by name, no paths, no timestamps): the release manifest hashes it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import generator
from generator.common.resources import resource_path

PACKAGE_DIR = Path(generator.__file__).resolve().parent

#: Modules and packages (with all their submodules) the scorer needs; their module-level imports are followed.
ROOTS: tuple[str, ...] = (
    "generator.common.errors",
    "generator.core.text",
    "generator.core.answers",
    "generator.core.instructions",
    "generator.scoring",
)

#: Third-party names the embedded modules may import lazily (inside functions) but never at module level.
_ALLOWED_THIRD_PARTY_TOP: frozenset[str] = frozenset()


class BundleError(RuntimeError):
    """The scorer cannot be bundled (a missing module or a non-standard-library module-level import)."""


def _module_file(name: str) -> tuple[Path, bool] | None:
    """(source file, is_package) of a ``generator.*`` module, or None when no such module exists."""
    parts = name.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py", True
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py"), False
    return None


def _package_modules(name: str, folder: Path) -> list[str]:
    """The package and every module below it (``__pycache__`` and non-Python files ignored)."""
    names = [name]
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(folder).with_suffix("").parts
        if relative[-1] == "__init__":
            relative = relative[:-1]
            if not relative:
                continue
        if not all(part.isidentifier() for part in relative):
            continue
        names.append(".".join((name, *relative)))
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports executed when the module is imported (function bodies and TYPE_CHECKING blocks excluded)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)
            elif isinstance(node, ast.With | ast.ClassDef):
                walk(node.body)

    walk(tree.body)
    return found


def _imported_names(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute names a statement imports (for ``from X import y``: X and X.y, since y may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]


#: Members of instruction-type classes that only generation and the tests use (samplers, witness contributions,
#: conflict rules, examples, perturbations). The scorer embeds the types without them, so editing them never
#: changes a release's scorer or its digest; everything a check runs is embedded verbatim.
GENERATION_ONLY_MEMBERS = frozenset({"sample_kwargs", "contribute", "perturb", "conflicts", "examples"})
_TYPES_PACKAGE = "generator.core.instructions.types."


def strip_generation_members(source: str, tree: ast.Module | None = None) -> str:
    """``source`` without the class members named in :data:`GENERATION_ONLY_MEMBERS` (whole lines removed).

    ``tree`` is ``source`` already parsed, when the caller has it (parsing is most of a bundle's cost).
    """
    if tree is None:
        tree = ast.parse(source)
    drop: list[tuple[int, int]] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for member in node.body:
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = member.name
            elif isinstance(member, ast.Assign) and len(member.targets) == 1 and isinstance(member.targets[0], ast.Name):
                name = member.targets[0].id
            else:
                continue
            if name in GENERATION_ONLY_MEMBERS:
                first = min([member.lineno] + [d.lineno for d in getattr(member, "decorator_list", [])])
                last = member.end_lineno or member.lineno
                # Whole lines go: a statement sharing them ("examples = (); x = 1") would go too, unseen.
                if any(other is not member and first <= (other.end_lineno or other.lineno) and other.lineno <= last
                       for other in node.body):
                    raise BundleError(f"{node.name}.{name} shares a line with another statement (line {first})")
                drop.append((first, last))
    lines = source.splitlines(keepends=True)
    for first, last in sorted(drop, reverse=True):
        del lines[first - 1:last]
        # one blank line, not two, where a member between blank lines was removed
        if 1 < first <= len(lines) and not lines[first - 2].strip() and not lines[first - 1].strip():
            del lines[first - 1]
    return "".join(lines)


def collect_modules(roots: tuple[str, ...] = ROOTS) -> dict[str, tuple[bool, str]]:
    """``{module name: (is_package, source)}`` for the roots and their module-level ``generator`` imports."""
    pending: list[str] = []
    for root in roots:
        located = _module_file(root)
        if located is None:
            raise BundleError(f"module {root} not found under {PACKAGE_DIR}")
        path, is_package = located
        pending.extend(_package_modules(root, path.parent) if is_package else [root])
    modules: dict[str, tuple[bool, str]] = {}
    stdlib = sys.stdlib_module_names
    while pending:
        name = pending.pop()
        if name in modules or name == "generator":
            continue
        located = _module_file(name)
        if located is None:
            continue
        path, is_package = located
        source = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        # One parse serves both steps: the stripped members are whole lines holding only a method or a class
        # attribute (the stripper refuses a member that shares a line), and neither holds an import run at import
        # time, so the full source has the same module-level imports as the stripped one.
        tree = ast.parse(source, filename=str(path))
        if name.startswith(_TYPES_PACKAGE):
            source = strip_generation_members(source, tree)
        modules[name] = (is_package, source)
        for node in _module_level_imports(tree):
            for imported in _imported_names(name, is_package, node):
                top = imported.partition(".")[0]
                if top == "generator":
                    if imported != "generator":
                        pending.append(imported)
                elif top not in stdlib and top not in _ALLOWED_THIRD_PARTY_TOP and top != "__future__":
                    raise BundleError(f"{name} imports {imported} at module level; the standalone scorer can only "
                                      "embed standard-library code (import it inside the function that needs it)")
    for name in list(modules):
        parent = name.rpartition(".")[0]
        while parent and parent != "generator":
            if parent not in modules:
                located = _module_file(parent)
                if located is None:
                    raise BundleError(f"package {parent} not found")
                modules[parent] = (True, located[0].read_text(encoding="utf-8").replace("\r\n", "\n"))
            parent = parent.rpartition(".")[0]
    return dict(sorted(modules.items()))


def _string_literal(text: str, indent: str) -> str:
    """A parenthesised literal with one source line per line, so the embedded code stays readable."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return "''"
    body = "\n".join(f"{indent}    {line!r}" for line in lines)
    return f"(\n{body}\n{indent})"


_HEADER = '''\
#!/usr/bin/env python3
"""Standalone scorer of this MMMT-IF release: the same code and the same report as ``mmmtif score``.

Needs only ``datasets`` (``pip install datasets``)::

    python scoring.py --repo ORG/NAME --revision vX.Y.Z [--config C] [--split S] \\\\
        --responses responses.jsonl --out report.json [--details details.jsonl] [--mode strict|loose] \\
        [--samples N] [--allow-partial]

``--repo`` also takes a local dataset folder (read with pyarrow, which ``datasets`` installs). responses.jsonl holds one JSON object per line:
``{{"id": conversation id, "turn": 1-based turn, "sample": 0-based sample (optional), "response": text}}``.
The scoring rules are documented in the toolkit's docs/scoring.md. The modules below are embedded verbatim from
mmmt-if {version}; edit the toolkit, not this file.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import linecache
import sys

SCORER_VERSION = {version!r}

'''

_FOOTER = '''

class _EmbeddedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve the embedded modules under their own names, ahead of any installed copy."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=_MODULES[fullname][0])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        is_package, source = _MODULES[module.__name__]
        filename = f"<scoring.py:{module.__name__}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        if is_package:
            module.__path__ = [_PATH_PREFIX + module.__name__]
        exec(compile(source, filename, "exec"), module.__dict__)


_PATH_PREFIX = "<scoring.py>/"


class _EmbeddedPackagePath:
    """Lists an embedded package's modules for ``pkgutil.iter_modules`` (the instruction registry uses it)."""

    def __init__(self, entry):
        if not entry.startswith(_PATH_PREFIX):
            raise ImportError(entry)
        self.package = entry[len(_PATH_PREFIX):]

    def find_spec(self, fullname, target=None):
        return None  # the meta path finder above serves the modules themselves

    def iter_modules(self, prefix=""):
        depth = self.package.count(".") + 1
        for name, (is_package, _) in sorted(_MODULES.items()):
            if name.startswith(self.package + ".") and name.count(".") == depth:
                yield prefix + name.rpartition(".")[2], is_package


def install() -> None:
    """Make the embedded modules importable (idempotent)."""
    if not any(isinstance(finder, _EmbeddedModules) for finder in sys.meta_path):
        for name in [n for n in sys.modules if n == "generator" or n.startswith("generator.")]:
            del sys.modules[name]
        sys.path_hooks.insert(0, _EmbeddedPackagePath)
        sys.path_importer_cache.clear()
        sys.meta_path.insert(0, _EmbeddedModules())


def _progress(quiet):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return lambda items, total: tqdm(items, total=total, desc="scoring", unit="resp", disable=quiet,
                                     file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scoring.py", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="Hub dataset repo id ORG/NAME, or a local dataset folder")
    parser.add_argument("--revision", default=None, help="release tag (vX.Y.Z), branch or commit")
    parser.add_argument("--config", default=None, help="config (variant); default: the dataset's default config")
    parser.add_argument("--split", default=None, help="split; optional when the config has only one")
    parser.add_argument("--responses", required=True, help="responses.jsonl")
    parser.add_argument("--out", required=True, help="where to write report.json")
    parser.add_argument("--details", default=None, help="also write one JSON line per scored response")
    parser.add_argument("--mode", choices=["strict", "loose"], default="strict")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples per turn (N of PIF-N-K); default: as the response lines declare it")
    parser.add_argument("--allow-partial", action="store_true",
                        help="score a responses file that lacks some turns or samples (figures marked partial)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    args = parser.parse_args(argv)
    install()
    from generator.common.errors import UserError
    from generator.scoring import run_score

    try:
        run_score(args.repo, responses_path=args.responses, out=args.out, config=args.config, split=args.split,
                  revision=args.revision, details=args.details, mode=args.mode, samples=args.samples,
                  allow_partial=args.allow_partial,
                  echo=None if args.quiet else print, progress=_progress(args.quiet),
                  schema=json.loads(REPORT_SCHEMA), require_schema_check=False)
    except UserError as exc:
        print(f"scoring.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def build_scoring_script() -> str:
    """Return the text of the standalone ``scoring.py`` (deterministic for a given source tree)."""
    modules = {"generator": (True, f'"""mmmt-if scorer modules."""\n\n__version__ = {generator.__version__!r}\n'),
               **collect_modules()}
    schema = resource_path("schemas", "report.schema.json").read_text(encoding="utf-8").replace("\r\n", "\n")
    parts = [_HEADER.format(version=generator.__version__)]
    parts.append(f"REPORT_SCHEMA = {_string_literal(schema, '')}\n\n")
    parts.append("# module name -> (is a package, source)\n_MODULES = {\n")
    for name, (is_package, source) in sorted(modules.items()):
        parts.append(f"    {name!r}: ({is_package!r}, {_string_literal(source, '    ')}),\n")
    parts.append("}\n")
    parts.append(_FOOTER)
    return "".join(parts)
