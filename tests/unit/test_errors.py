"""One error root, one place that exits: every stage error is a LapseError whose class names
its exit code, commands return their code, and a programming error is never a service's."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import click
import pytest

import generator
from generator import cli
from generator.core import errors
from generator.core.errors import LapseError, ServiceError
from generator.core.retry import call_with_retry

PACKAGE = Path(generator.__file__).parent
EXITING = ("generator/cli.py", "generator/__main__.py")


def _exits(path: Path) -> list[str]:
    """`sys.exit(...)`, `raise SystemExit`, `exit()`, `quit()` and `os._exit(...)` in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name | ast.Attribute) and ast.unparse(raised).endswith(
                "SystemExit"
            ):
                found.append(f"line {node.lineno}: raise SystemExit")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("sys.exit", "exit", "quit", "os._exit", "_exit"):
                found.append(f"line {node.lineno}: {name}()")
        if isinstance(node, ast.ImportFrom) and node.module in ("sys", "os"):
            names = [a.name for a in node.names if "exit" in a.name]
            found += [f"line {node.lineno}: imports {name}" for name in names]
    return found


def test_only_the_entry_point_exits() -> None:
    exiting = {
        str(path.relative_to(PACKAGE.parent)): where
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE.parent)) not in EXITING and (where := _exits(path))
    }
    assert exiting == {}


@pytest.mark.parametrize(
    "text",
    [
        "import sys\nsys.exit(1)\n",
        "raise SystemExit(2)\n",
        "raise SystemExit\n",
        "exit()\n",
        "from sys import exit as leave\n",
        "import os\nos._exit(1)\n",
    ],
)
def test_the_exit_check_sees_each_way_out(tmp_path: Path, text: str) -> None:
    module = tmp_path / "command.py"
    module.write_text(text, encoding="utf-8")
    assert _exits(module)


def _modules() -> list[Any]:
    names = [m.name for m in pkgutil.walk_packages([str(PACKAGE)], "generator.")]
    return [importlib.import_module(name) for name in sorted(names) if name != "generator.__main__"]


def _exception_classes() -> list[type[BaseException]]:
    return sorted(
        {
            kind
            for module in _modules()
            for _, kind in inspect.getmembers(module, inspect.isclass)
            if issubclass(kind, BaseException) and kind.__module__.startswith("generator.")
        },
        key=lambda kind: f"{kind.__module__}.{kind.__qualname__}",
    )


def test_every_error_of_the_package_derives_from_the_root_or_is_private() -> None:
    found = _exception_classes()
    outside = [
        f"{k.__module__}.{k.__qualname__}"
        for k in found
        if not issubclass(k, LapseError) and not k.__name__.startswith("_")
    ]
    assert outside == []
    assert len(found) >= 15  # the walk reaches the stages' errors, not only core's


def test_every_error_names_an_exit_code_the_cli_documents() -> None:
    codes = {k: k.exit_code for k in _exception_classes() if issubclass(k, LapseError)}
    assert set(codes.values()) <= {1, 2, 3}


PRIVATE_ERRORS = ("generator.checks.loading._Refused", "generator.checks.loading._Unusual")


@pytest.mark.parametrize("qualified", PRIVATE_ERRORS)
def test_a_private_error_never_leaves_its_module(qualified: str) -> None:
    module, _, name = qualified.rpartition(".")
    elsewhere = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.stem != module.rpartition(".")[2] and name in path.read_text(encoding="utf-8")
    ]
    assert elsewhere == []
    tree = ast.parse(Path(importlib.import_module(module).__file__ or "").read_text("utf-8"))
    handled = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler)
        and node.type is not None
        and name in {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
    ]
    assert handled, f"{name} is raised in {module} and caught nowhere there"


# --- the exit code comes from the error's class, through `cli.main` ------------------------


def _stage_errors() -> list[tuple[BaseException, int]]:
    from generator.core.times import OutOfRange
    from generator.gcp.dataset_access import DatasetAccessError
    from generator.gcp.iam_policies import HttpStatusError
    from generator.github.records import PaginationLoop
    from generator.review.json_stream import Malformed
    from generator.review.logging_source import RepeatedPageToken
    from generator.terraform.conditions import ConditionError
    from generator.terraform.hcl import HclError
    from generator.terraform.render import RenderError

    return [
        (RenderError("grant.tf: python-hcl2 reads back other values than intended"), 2),
        (HclError("grant.tf: cannot read"), 2),
        (ConditionError("cannot compile 'x'"), 2),
        (OutOfRange("9999-12-31T23:59:59Z"), 2),
        (Malformed(3, "a value never ends"), 2),
        (HttpStatusError(403, "PERMISSION_DENIED"), 3),
        (DatasetAccessError("the dataset's access is not a list"), 3),
        (RepeatedPageToken("the Logging API repeated page token 'abc'"), 3),
        (PaginationLoop("a page of the listing came back again; its pages loop"), 3),
    ]


_RAISED: list[BaseException] = []


@click.command()
def failing() -> int:
    raise _RAISED[0]


@click.command()
def returning() -> int:
    return 1


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    monkeypatch.setitem(cli.COMMANDS, "failing", f"{__name__}:failing")
    monkeypatch.setitem(cli.COMMANDS, "returning", f"{__name__}:returning")
    monkeypatch.delenv("LAPSE_DEBUG", raising=False)
    _RAISED.clear()
    return _RAISED


@pytest.mark.parametrize(("error", "code"), _stage_errors(), ids=lambda e: type(e).__name__)
def test_a_stage_error_ends_the_command_with_its_class_code(
    command: list[BaseException], capsys: pytest.CaptureFixture[str], error: Exception, code: int
) -> None:
    command.append(error)
    assert cli.main(["failing"]) == code
    assert capsys.readouterr().err == f"lapse: error: {error}\n"


def test_a_command_returns_its_code(command: list[BaseException]) -> None:
    assert cli.main(["returning"]) == 1


def test_problems_already_shown_end_with_1_and_nothing_more(
    command: list[BaseException], capsys: pytest.CaptureFixture[str]
) -> None:
    command.append(errors.ProblemsShown())
    assert cli.main(["failing"]) == 1
    assert capsys.readouterr().err == ""


def test_lapse_debug_shows_the_original_error_behind_a_service_error(
    command: list[BaseException],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> None:
        raise ConnectionResetError("connection reset by peer")

    try:
        call_with_retry(broken, what="reading X", is_transient=lambda _: False)
    except ServiceError as exc:
        command.append(exc)
    assert cli.main(["failing"]) == 3
    plain = capsys.readouterr().err
    assert "Traceback" not in plain and "ConnectionResetError" in plain
    monkeypatch.setenv("LAPSE_DEBUG", "1")
    assert cli.main(["failing"]) == 3
    shown = capsys.readouterr().err
    assert "Traceback" in shown and "in broken" in shown
    assert "The above exception was the direct cause" in shown


# --- a programming error passes the service boundaries -----------------------------------


@pytest.mark.parametrize("kind", errors.PROGRAMMING_ERRORS)
def test_a_programming_error_inside_a_retry_passes_at_once(kind: type[Exception]) -> None:
    calls: list[int] = []

    def buggy() -> None:
        calls.append(1)
        raise kind("lapse's own mistake")

    with pytest.raises(kind, match="own mistake"):
        call_with_retry(buggy, what="reading X", is_transient=lambda _: True, sleep=lambda _: None)
    assert calls == [1]


def test_a_programming_error_inside_a_retry_is_an_internal_error_not_exit_3(
    command: list[BaseException], capsys: pytest.CaptureFixture[str]
) -> None:
    def buggy() -> None:
        raise TypeError("'NoneType' object is not subscriptable")

    try:
        call_with_retry(buggy, what="reading X", is_transient=lambda _: False)
    except Exception as exc:  # whatever leaves the boundary goes on to the CLI
        command.append(exc)
    assert cli.main(["failing"]) == 2
    assert "lapse: internal error: TypeError" in capsys.readouterr().err


def test_a_service_failure_inside_a_retry_is_still_a_service_error() -> None:
    def down() -> None:
        raise ConnectionError("connection refused")

    with pytest.raises(ServiceError, match="reading X failed: ConnectionError") as caught:
        call_with_retry(down, what="reading X", is_transient=lambda _: False)
    assert isinstance(caught.value.__cause__, ConnectionError)
