"""The loader's two paths build the same document; listing and locating files stay exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.checks import loading
from generator.core.repo import Repo
from tests.lanes import examples
from tests.support import REPO, make_repo, place

CORPUS = REPO / "tests" / "corpus"


def _by_events(text: str) -> loading.Document:
    builder = loading._Builder("f.yaml")
    for event in loading._events(text):
        builder.feed(event)
    return builder.document()


def _same(text: str) -> None:
    try:
        expected = _by_events(text)
    except (loading._Refused, loading.yaml.YAMLError):
        with pytest.raises((loading._Unusual, loading.yaml.YAMLError)):
            loading._composed("f.yaml", text)
        return
    composed = loading._composed("f.yaml", text)
    assert (composed.data, composed.values, composed.keys) == (
        expected.data,
        expected.values,
        expected.keys,
    )


def _plain_files() -> list[Path]:
    found = [*CORPUS.rglob("*.yaml"), *(REPO / "requests").rglob("*.yaml")]
    return sorted(p for p in found if not loading._MAY_NEED_EVENTS.search(_text(p)))


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


@pytest.mark.parametrize("path", _plain_files(), ids=lambda p: p.name)
def test_composed_and_event_documents_are_identical(path: Path) -> None:
    _same(_text(path))


scalars = st.one_of(
    st.sampled_from(["a", "1", "1.5", "yes", "null", "~", "2026-11-30", "'q'", '"d"', "-", "x: y"]),
    st.text(alphabet="ab:-# '\"\n01.", max_size=12),
)
lines = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["k:", "- ", "k: ", "? ", "kk: ", ""]), scalars),
    max_size=8,
)


@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_composed_and_event_documents_agree_on_generated_text(
    rows: list[tuple[int, str, str]],
) -> None:
    _same("".join(f"{'  ' * depth}{lead}{value}\n" for depth, lead, value in rows))


def test_duplicate_keys_and_merges_fall_back_to_the_located_refusal() -> None:
    for text, rule in [("a: 1\na: 2\n", "LAPSE105"), ("<<: {a: 1}\n", "LAPSE107")]:
        loaded = loading.load("f.yaml", text.encode())
        assert [p.rule for p in loaded.problems] == [rule]


def test_relative_does_not_resolve_paths_listed_from_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path)
    place(root, "requests/pci-prod/inc-1-x.yaml", "a: 1\n")
    repo = Repo.at(root)
    files = repo.request_files()

    def refuse(self: Path, strict: bool = False) -> Path:
        raise AssertionError(f"resolved {self}")

    monkeypatch.setattr(Path, "resolve", refuse)
    assert [repo.relative(p) for p in files] == ["requests/pci-prod/inc-1-x.yaml"]


def test_relative_still_resolves_what_lies_elsewhere(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    repo = Repo.at(root)
    (tmp_path / "link").symlink_to(root)
    assert repo.relative(tmp_path / "link" / "policy" / "policy.yaml") == "policy/policy.yaml"
    escaping = root / "requests" / ".." / ".." / "x"  # not inside the repository at all
    assert repo.relative(escaping) == escaping.as_posix()
    assert repo.relative(Path("/elsewhere/x.yaml")) == "/elsewhere/x.yaml"


def test_request_files_keep_the_order_and_reach_of_a_recursive_glob(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    for name in ["a/b.yaml", "a-b/c.yaml", "a/.hidden", ".dot/x.yaml", "z.yaml", "A/b.yaml"]:
        place(root, f"requests/{name}", "a: 1\n")
    (root / "requests" / "a" / "link.yaml").symlink_to(root / "requests" / "z.yaml")
    repo = Repo.at(root)
    expected = sorted(
        p for p in repo.requests.rglob("*") if p.is_file() and not p.name.startswith(".")
    )
    assert repo.request_files() == expected


@pytest.mark.parametrize("name", ["a.yaml", "a", ".yaml", "a.", "a.b.yaml", "..", "x..y"])
def test_request_ids_are_the_stem_of_the_file_name(name: str) -> None:
    from pathlib import PurePosixPath

    from generator.checks.values import _stem

    assert _stem(name) == PurePosixPath(name).stem


def test_allowed_resources_are_spelled_once_per_policy_not_per_grant(tmp_path: Path) -> None:
    from generator.checks.rules import resources
    from generator.checks.validate import validate_repo

    root = make_repo(tmp_path, with_requests=True)
    for path in list((root / "requests").rglob("*.yaml")):
        for copy in range(3):
            place(root, f"{path.relative_to(root).with_suffix('')}-{copy}.yaml", path.read_bytes())
    resources._canonical_names.cache_clear()
    result = validate_repo(Repo.at(root), now=None)
    grants = sum(len(r.grants) for r in result.requests)
    kinds = {(r.target, g.kind) for r in result.requests for g in r.grants}
    info = resources._canonical_names.cache_info()
    assert grants >= 4 * len(kinds)
    # Each grant is looked up by LAPSE220, and by LAPSE260 and LAPSE261, which leave a resource
    # the target does not allow to LAPSE220.
    assert (info.misses, info.hits) == (len(kinds), 3 * grants - len(kinds))


def test_reading_the_archive_by_month_keeps_symlinked_months_and_skips_dotfiles(
    tmp_path: Path,
) -> None:
    """A symlinked month folder is returned as itself, whatever its month, so the symlink rule
    and the reader see it; hidden files are skipped as when the whole archive is read."""
    root = make_repo(tmp_path)
    place(root, "archive/pci-prod/2026-11/a.yaml", "x")
    place(root, "archive/pci-prod/2026-10/b.yaml", "x")
    place(root, "archive/pci-prod/.keep", "")
    place(root, "archive/pci-prod/emergency/.keep", "")
    place(root, "elsewhere/c.yaml", "x")
    (root / "archive/pci-prod/2026-09").symlink_to(root / "elsewhere")
    (root / "archive/pci-prod/emergency/2026-11").symlink_to(root / "elsewhere")
    repo = Repo.at(root)
    assert [repo.relative(p) for p in repo.archive_files_of({"2026-11"})] == [
        "archive/pci-prod/2026-09",
        "archive/pci-prod/2026-11/a.yaml",
        "archive/pci-prod/emergency/2026-11",
    ]


def test_reading_the_archive_by_month_returns_misplaced_entries_as_themselves(
    tmp_path: Path,
) -> None:
    """A file directly under archive/, a symlinked target folder and a symlinked emergency
    folder are each returned as one path, never followed, and the folders after them are
    still read."""
    root = make_repo(tmp_path)
    place(root, "archive/README.yaml", "x")
    place(root, "archive/pci-prod/2026-11/a.yaml", "x")
    place(root, "elsewhere/2026-11/c.yaml", "x")
    (root / "archive/pci-other").symlink_to(root / "elsewhere")
    (root / "archive/pci-prod/emergency").symlink_to(root / "elsewhere")
    repo = Repo.at(root)
    assert [repo.relative(p) for p in repo.archive_files_of({"2026-11"})] == [
        "archive/README.yaml",
        "archive/pci-other",
        "archive/pci-prod/2026-11/a.yaml",
        "archive/pci-prod/emergency",
    ]
