"""Rules the test suite keeps about itself, checked on its own source.

- A committed file (configs/demo.toml, the reference logs under tests/data/) is part of the
  tests: when it is missing, the tests that read it fail. A skip tied to a path's existence
  would turn a lost file into a green suite.
- No test module imports another test module: what tests, bench/ and docs/ share lives in
  tests/support/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
PATH_CHECKS = frozenset({"exists", "is_dir", "is_file"})


def _test_sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        if "data" in path.relative_to(TESTS).parts:
            continue
        yield path, ast.parse(path.read_text(), filename=str(path))


def _checks_a_path(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in PATH_CHECKS
        or isinstance(n, ast.Attribute)
        and n.attr in ("isfile", "isdir")
        for n in ast.walk(node)
    )


def _is_skip(call: ast.Call) -> str | None:
    f = call.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    return name if name in ("skip", "skipif", "importorskip") else None


def path_tied_skips(tree: ast.Module) -> list[int]:
    """Lines where a test skips because a path is missing: `skipif(<path check>)`, or
    `pytest.skip` under an `if` that checks a path."""
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_skip(node) == "skipif":
            if any(_checks_a_path(a) for a in [*node.args, *(k.value for k in node.keywords)]):
                lines.append(node.lineno)
        if isinstance(node, ast.If) and _checks_a_path(node.test):
            for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                if isinstance(inner, ast.Call) and _is_skip(inner) == "skip":
                    lines.append(inner.lineno)
    return lines


def test_no_test_skips_when_a_file_is_missing() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path, tree in _test_sources()
        for line in path_tied_skips(tree)
    ]
    assert found == [], f"skips tied to a file's existence (a missing file must fail): {found}"


def test_the_rule_sees_both_forms() -> None:
    """The checker itself: both ways of writing such a skip are caught, a skip on something
    the machine lacks (a program, a GPU) is not."""
    caught = ast.parse(
        "m = pytest.mark.skipif(not REF.is_dir(), reason='x')\n"
        "def test():\n    if not demo.exists():\n        pytest.skip('no demo')\n"
    )
    assert path_tied_skips(caught) == [1, 4]
    allowed = ast.parse("m = pytest.mark.skipif(shutil.which('tmux') is None, reason='x')\n")
    assert path_tied_skips(allowed) == []


def test_no_test_module_imports_another() -> None:
    found = []
    for path, tree in _test_sources():
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.relative_to(REPO_ROOT)}: {n}"
                for n in names
                if n.startswith("tests.") and not n.startswith("tests.support")
            ]
    assert found == []
