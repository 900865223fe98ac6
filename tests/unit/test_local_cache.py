"""The local cache: reused only for the same bytes and the same code, never across versions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.core import cache
from generator.core.model import Extension, Grant, Request, Window
from generator.terraform import audit_coverage, render, verified
from generator.terraform.grants_folder import existing
from tests.lanes import examples
from tests.support import REPO, make_repo

if TYPE_CHECKING:
    from generator.terraform.configuration import TerraformFile

DAY = timedelta(days=1)


def _request(reason: str = "Investigate failed settlement batch") -> Request:
    return Request(
        id="inc-4512-batch",
        target="pci-prod",
        path="requests/pci-prod/inc-4512-batch.yaml",
        requester="alice@example.com",
        reason=reason,
        ticket="INC-4512",
        window=Window(datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 13, tzinfo=UTC)),
        grants=(Grant("roles/cloudsql.client", "project", "pci-prod-payments"),),
    )


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    place = tmp_path / "cache"
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(place))
    return place


def _forbid_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: Request) -> str:
        raise AssertionError("rendered again")

    monkeypatch.setattr(verified, "rendered", refuse)


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files `configuration.parse_text` is asked to parse from now on, in order."""
    from generator.terraform import configuration

    parsed: list[str] = []
    parse_text = configuration.parse_text

    def counting(relative: str, text: str) -> configuration.TerraformFile:
        parsed.append(relative)
        return parse_text(relative, text)

    monkeypatch.setattr(configuration, "parse_text", counting)
    return parsed


def test_a_verified_file_is_reused_without_rendering(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = verified.render_files([_request()], {})
    _forbid_rendering(monkeypatch)
    assert verified.render_files([_request()], files) == files


def test_a_file_edited_on_disk_is_rendered_again(store: Path) -> None:
    files = verified.render_files([_request()], {})
    edited = {name: text.replace("alice", "mallory") for name, text in files.items()}
    assert verified.render_files([_request()], edited) == files


def test_a_changed_request_is_rendered_again(store: Path) -> None:
    files = verified.render_files([_request()], {})
    changed = verified.render_files([_request(reason="Another reason")], files)
    assert changed != files
    assert "Another reason" in next(iter(changed.values()))


def test_an_entry_from_other_code_is_never_read(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verified, "code_version", lambda: "another version of lapse")
    files = verified.render_files([_request()], {})
    monkeypatch.undo()
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(store))
    again: list[Request] = []
    monkeypatch.setattr(verified, "rendered", lambda r: again.append(r) or render.rendered(r))
    verified.render_files([_request()], files)
    assert again == [_request()]


def test_the_code_version_covers_templates_parsers_and_renderers() -> None:
    assert set(verified.CODE) >= {"generator", "jinja2", "hcl2", "lark"}
    template = Path(render.__file__).parents[1] / "templates" / "terraform" / "grants.tf.j2"
    assert template.is_file()


def test_changing_a_template_or_a_parser_changes_the_code_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(Path(render.__file__).parents[1], tmp_path / "generator")
    (tmp_path / "parser").mkdir()
    (tmp_path / "parser" / "__init__.py").write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n == "generator" or n.startswith("generator.")]:
        monkeypatch.delitem(sys.modules, name)

    def version() -> str:
        return cache.code_digest.__wrapped__("generator", "parser")

    before = version()
    template = tmp_path / "generator" / "templates" / "terraform" / "grants.tf.j2"
    template.write_text(template.read_text() + "\n# changed\n")
    after_template = version()
    (tmp_path / "parser" / "__init__.py").write_text("VERSION = 2\n")
    after_parser = version()
    assert len({before, after_template, after_parser}) == 3


def test_a_corrupt_table_is_an_empty_one(store: Path) -> None:
    files = verified.render_files([_request()], {})
    for table in (store / verified.CACHE_KIND).iterdir():
        table.write_bytes(b"\x00not json")
    assert verified.render_files([_request()], files) == files


def test_an_unwritable_store_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(tmp_path / "file" / "cache"))
    assert verified.render_files([_request()], {})
    monkeypatch.setenv("LAPSE_CACHE_DIR", cache.OFF)
    assert cache.folder() is None
    assert verified.render_files([_request()], {})


def test_audit_coverage_is_read_from_the_cache_while_the_files_are_unchanged(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    first = audit_coverage.read_coverage(root / "terraform")
    audit_coverage._coverage.cache_clear()

    def refuse(text: str, *, source: str = "") -> dict[str, object]:
        raise AssertionError("parsed again")

    monkeypatch.setattr(audit_coverage, "load", refuse)
    assert audit_coverage.read_coverage(root / "terraform") == first


def test_audit_coverage_is_parsed_again_when_a_file_changes(tmp_path: Path, store: Path) -> None:
    root = make_repo(tmp_path / "repo")
    first = audit_coverage.read_coverage(root / "terraform")
    path = next(p for p in (root / "terraform").glob("*.tf") if "audit" in p.read_text())
    path.write_text(
        path.read_text()
        + '\nresource "google_project_iam_audit_config" "extra" {\n'
        + '  project = "another-project-1"\n  service = "allServices"\n\n'
        + '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n'
        + '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n}\n'
    )
    second = audit_coverage.read_coverage(root / "terraform")
    assert ("project", "another-project-1") in second.scopes
    assert ("project", "another-project-1") not in first.scopes


def test_a_warm_validate_loads_no_parser_nor_jsonschema(tmp_path: Path, store: Path) -> None:
    root = make_repo(tmp_path / "repo", with_requests=True)
    script = (
        "import sys\n"
        "from generator import cli\n"
        f"code = cli.main(['validate', '--root', {str(root)!r}])\n"
        "heavy = ('jsonschema', 'hcl2', 'lark', 'jinja2', 'celpy', 'github', 'google.cloud')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = [sys.executable, "-c", script]
    subprocess.run(run, capture_output=True, text=True, check=True, cwd=REPO)  # fills the cache
    warm = subprocess.run(run, capture_output=True, text=True, check=True, cwd=REPO)
    assert warm.stdout.splitlines()[-1] == "0 []"


def test_existing_generated_files_are_what_render_check_compares(tmp_path: Path) -> None:
    grants = tmp_path / "grants"
    grants.mkdir()
    (grants / "b.tf").write_text("# Generated by `lapse render` from x\n")
    (grants / "a.tf").write_text("# hand-written\n")
    assert list(existing(grants)) == ["b.tf"]


def test_an_installed_parser_is_named_by_the_hashes_in_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fakeparser").mkdir()
    (tmp_path / "fakeparser" / "__init__.py").write_text("")
    info = tmp_path / "fakeparser-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("fakeparser/__init__.py,sha256=AAAA,0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = cache.code_digest.__wrapped__("fakeparser")
    (info / "RECORD").write_text("fakeparser/__init__.py,sha256=BBBB,0\n")
    assert cache.code_digest.__wrapped__("fakeparser") != first


def test_a_cached_coverage_is_the_coverage_parsed(tmp_path: Path, store: Path) -> None:
    root = make_repo(tmp_path / "repo")
    parsed = audit_coverage.read_coverage(root / "terraform")
    audit_coverage._coverage.cache_clear()
    kept = audit_coverage.read_coverage(root / "terraform")
    assert parsed.configs and kept == parsed
    assert kept.grants_depends_on == parsed.grants_depends_on


def _terraform_read(tmp_path: Path) -> tuple[list[tuple[str, str]], tuple[TerraformFile, ...]]:
    """A new repository's Terraform files as lapse lists them, and their first parse."""
    from generator.terraform import configuration

    root = make_repo(tmp_path / "repo")
    _, readable = configuration.list_configuration(root / "terraform", root)
    return readable, configuration.parse_all(configuration.read_all(readable))


def test_a_cached_terraform_configuration_is_the_configuration_parsed(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.terraform import configuration

    def read_configuration(root: Path) -> tuple[configuration.TerraformFile, ...]:
        _, readable = configuration.list_configuration(root / "terraform", root)
        return configuration.parse_all(configuration.read_all(readable))

    root = make_repo(tmp_path / "repo", with_requests=True)
    (root / "terraform" / "broken.tf").write_text('resource "x" {\n')
    parsed = read_configuration(root)

    def refuse(relative: str, text: str) -> configuration.TerraformFile:
        raise AssertionError("parsed again")

    monkeypatch.setattr(configuration, "parse_text", refuse)
    assert read_configuration(root) == parsed
    assert any(f.error for f in parsed) and any(f.blocks for f in parsed)
    monkeypatch.undo()
    monkeypatch.setenv("LAPSE_CACHE_DIR", str(store))
    (root / "terraform" / "broken.tf").write_text('resource "x" "y" {\n}\n')
    again = read_configuration(root)
    assert not any(f.error for f in again)


@pytest.mark.parametrize("module", ["generator.terraform", "hcl2", "lark"])
def test_terraform_parsed_by_another_version_of_the_parser_is_parsed_again(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """A parse is reused only by the code that made it: lapse's reader, python-hcl2 and lark."""
    from generator.terraform import configuration

    readable, first = _terraform_read(tmp_path)
    real = cache.code_digest
    monkeypatch.setattr(
        cache, "code_digest", lambda *names: real(*names) + ("+new" if module in names else "")
    )
    parsed = _counting_parses(monkeypatch)
    assert configuration.parse_all(configuration.read_all(readable)) == first
    assert sorted(parsed) == sorted(relative for relative, _ in readable)


def test_a_terraform_parse_is_reused_on_every_later_run(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit keeps its entry as it was: the third run is as warm as the second."""
    from generator.terraform import configuration

    readable, first = _terraform_read(tmp_path)

    def refuse(relative: str, text: str) -> configuration.TerraformFile:
        raise AssertionError(f"parsed {relative} again")

    monkeypatch.setattr(configuration, "parse_text", refuse)
    for _ in range(2):
        assert configuration.parse_all(configuration.read_all(readable)) == first


# The key's text is `repr(request)` written out: the same for every value of every field.
_text = st.text(max_size=12)
_instants = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30)), None])
)
_grants = st.builds(Grant, _text, _text, _text, st.integers(), st.integers())
_extensions = st.builds(Extension, _instants, st.timedeltas(), _text, st.integers(), st.integers())


@settings(max_examples=examples(300), deadline=None)
@given(
    st.builds(
        Request,
        id=_text,
        target=_text,
        path=_text,
        requester=_text,
        reason=_text,
        ticket=_text,
        window=st.builds(Window, st.none() | _instants, _instants),
        grants=st.lists(_grants, max_size=3).map(tuple),
        emergency=st.booleans(),
        extensions=st.lists(_extensions, max_size=3).map(tuple),
    )
)
def test_the_key_text_is_the_request_repr(request: Request) -> None:
    assert verified.values_text(request) == repr(request)


def test_the_key_text_names_every_field_the_classes_declare() -> None:
    # A field added to a request is a value the key must hold: values_text has to write it.
    text = verified.values_text(
        replace(_request(), extensions=(Extension(datetime(2026, 1, 1, tzinfo=UTC), DAY, "r"),))
    )
    for kind in (Request, Window, Grant, Extension):
        for declared in fields(kind):
            assert f"{kind.__name__}(" in text
            assert f"{declared.name}=" in text, f"{kind.__name__}.{declared.name}"


def test_a_table_of_lines_reads_back_as_written(store: Path) -> None:
    table = {"b2": b'["x y",[1,2]]', "a1": b"[]", "c3": b""}
    cache.write_lines("lines", "table", table)
    assert cache.read_lines("lines", "table") == table
    (store / "lines" / "table").write_bytes(b"no-entry\n\n" + b"a1 []\n")
    assert cache.read_lines("lines", "table") == {"a1": b"[]"}


def test_an_unreadable_terraform_parse_is_parsed_again(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.terraform import configuration

    readable, first = _terraform_read(tmp_path)
    (table,) = (store / configuration.CACHE_KIND).iterdir()
    lines = table.read_bytes().splitlines()
    broken = [b"[]", b"{", b'["x", [], [1]]', b'["x", [["k", [], "l", 1, [], []]], null]']
    table.write_bytes(
        b"".join(line.split(b" ")[0] + b" " + broken[i % 4] + b"\n" for i, line in enumerate(lines))
    )
    parsed = _counting_parses(monkeypatch)
    assert configuration.parse_all(configuration.read_all(readable)) == first
    assert sorted(parsed) == sorted(relative for relative, _ in readable)
