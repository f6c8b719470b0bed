"""Sizes of the code: modules over a line limit and functions over a line limit, for a review.

Counts physical lines: a module's whole file; a function from its ``def`` line to its last
line, docstring included, decorators (a command's options) not; a nested function counts
inside its parent and on its own.
Reads the source with :mod:`ast`; nothing is imported. Prints one line per module and
function over the limits, largest first, and exits 0 (it reports, it does not judge).

Usage::

    python benchmarks/size_report.py                      # posetrack/ and cli/, limits 500 and 60
    python benchmarks/size_report.py posetrack/pipeline --module-lines 400 --function-lines 40
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

ROOT = Path(__file__).resolve().parents[1]


def python_files(paths: List[Path]) -> Iterator[Path]:
    """Every ``.py`` file under ``paths`` (files are taken as given), sorted."""
    for path in paths:
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def function_sizes(tree: ast.AST) -> Iterator[Tuple[str, int, int]]:
    """``(qualified name, first line, lines)`` of every function and method in ``tree``."""
    def visit(node: ast.AST, prefix: str) -> Iterator[Tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{prefix}{child.name}", child.lineno, child.end_lineno - child.lineno + 1
                yield from visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def report(paths: List[Path], module_lines: int, function_lines: int) -> List[str]:
    """The report's lines: modules over ``module_lines``, then functions over ``function_lines``."""
    modules, functions = [], []
    for file in python_files(paths):
        text = file.read_text(encoding="utf-8")
        name = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
        lines = len(text.splitlines())
        if lines > module_lines:
            modules.append((lines, f"{name}"))
        for qualname, first, size in function_sizes(ast.parse(text, str(file))):
            if size > function_lines:
                functions.append((size, f"{name}:{first} {qualname}"))
    out = [f"modules over {module_lines} lines: {len(modules)}"]
    out += [f"  {n:5d}  {where}" for n, where in sorted(modules, reverse=True)]
    out.append(f"functions over {function_lines} lines: {len(functions)}")
    out += [f"  {n:5d}  {where}" for n, where in sorted(functions, reverse=True)]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[ROOT / "posetrack", ROOT / "cli"])
    parser.add_argument("--module-lines", type=int, default=500)
    parser.add_argument("--function-lines", type=int, default=60)
    args = parser.parse_args(argv)
    print("\n".join(report([p.resolve() for p in args.paths], args.module_lines, args.function_lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
