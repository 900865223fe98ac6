"""How lapse lists and reads the repository's files: plain system calls, strings for names,
and the same answers as the slower ways they replaced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.checks.validate import validate_repo
from generator.core.model import Problem
from generator.core.repo import Repo, find_root, first_bytes
from generator.terraform import configuration
from tests.support import make_repo, place


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_first_bytes_reads_at_most_the_limit_and_a_long_file_whole(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(b"0123456789" * 2)
    assert first_bytes(str(short), 10) == b"0123456789"
    assert first_bytes(str(short), 1) == b"0"
    assert first_bytes(str(short), 0) == b""
    assert first_bytes(str(short), 100) == short.read_bytes()
    assert first_bytes(str(short)) == short.read_bytes()
    # Longer than one read: every chunk, joined as it was.
    long = tmp_path / "long"
    long.write_bytes(bytes(range(256)) * (3 * (1 << 20) // 256 + 7))
    assert first_bytes(str(long)) == long.read_bytes()
    assert first_bytes(str(long), (1 << 20) + 3) == long.read_bytes()[: (1 << 20) + 3]


def test_a_listed_name_is_read_as_relative_does(root: Path, tmp_path: Path) -> None:
    repo = Repo.at(root)
    inside = os.path.join(str(root), "requests", "pci-prod", "a.yaml")
    assert repo.relative_name(inside) == "requests/pci-prod/a.yaml"
    for name in (
        os.path.join(str(root), "requests", "..", "policy", "policy.yaml"),
        str(tmp_path / "elsewhere" / "a.yaml"),
    ):
        assert repo.relative_name(name) == repo.relative(Path(name))
    assert repo.relative_name(
        os.path.join(str(root), "requests", "..", "policy", "policy.yaml")
    ) == ("policy/policy.yaml")


def test_the_root_is_the_nearest_folder_holding_the_policy(root: Path, tmp_path: Path) -> None:
    deep = root / "requests" / "pci-prod"
    deep.mkdir(parents=True, exist_ok=True)
    assert find_root(deep) == root.resolve()
    assert find_root(root) == root.resolve()
    assert find_root(tmp_path) is None
    (tmp_path / "other" / "policy").mkdir(parents=True)
    (tmp_path / "other" / "policy" / "POLICY.YAML").write_text("x")
    assert find_root(tmp_path / "other") is None


def test_archive_names_are_repository_paths(root: Path) -> None:
    place(root, "archive/pci-prod/2026-11/a.yaml", "a: 1\n")
    place(root, "archive/pci-prod/emergency/2026-11/b.yaml", "b: 1\n")
    assert Repo.at(root).archive_names() == [
        "archive/pci-prod/2026-11/a.yaml",
        "archive/pci-prod/emergency/2026-11/b.yaml",
    ]


def test_archived_emergencies_are_read_by_month_too(root: Path) -> None:
    place(root, "archive/pci-prod/emergency/2026-10/old.yaml", "a: 1\n")
    place(root, "archive/pci-prod/emergency/2026-11/new.yaml", "a: 1\n")
    found = Repo.at(root).archive_files_of({"2026-11"})
    assert [p.name for p in found] == ["new.yaml"]


def test_every_symlink_in_terraform_is_found_beside_terraform_inits_cache(root: Path) -> None:
    (root / "terraform" / ".terraform" / "modules").mkdir(parents=True)
    os.symlink("/etc/hostname", root / "terraform" / ".terraform" / "modules" / "ignored.tf")
    names = [f"link-{n:02d}.tf" for n in range(24)]
    for name in names:
        os.symlink("/etc/hostname", root / "terraform" / name)
    # Whatever order the folder lists its entries in, none after the cache is passed over.
    assert Repo.at(root).symlinks() == sorted(f"terraform/{name}" for name in names)


def test_an_unreadable_tf_file_does_not_hide_the_files_after_it(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(root, "terraform/grants/a-locked.tf", 'locals {\n  a = "b"\n}\n')
    place(root, "terraform/grants/b-broken.tf", "resource {\n")
    real = configuration.first_bytes

    def refusing(path: str) -> bytes:
        if path.endswith("a-locked.tf"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(configuration, "first_bytes", refusing)
    found = {
        p.path for p in validate_repo(Repo.at(root), now=None).problems if p.rule == "LAPSE287"
    }
    assert found == {"terraform/grants/a-locked.tf", "terraform/grants/b-broken.tf"}


@pytest.mark.parametrize(("depth", "refused"), [(32, False), (33, True)])
def test_blocks_may_nest_exactly_as_deep_as_the_limit(
    root: Path, depth: int, refused: bool
) -> None:
    text = "".join(f"{'  ' * i}b{i} {{\n" for i in range(depth))
    text += "".join(f"{'  ' * i}}}\n" for i in reversed(range(depth)))
    place(root, "terraform/deep.tf", text)
    nested = [
        p
        for p in validate_repo(Repo.at(root), now=None).problems
        if p.path == "terraform/deep.tf" and p.rule == "LAPSE287"
    ]
    assert bool(nested) is refused
    if refused:
        assert nested[0] == Problem(
            "terraform/deep.tf",
            1,
            1,
            "LAPSE287",
            "error",
            "cannot check it: blocks nested more than 32 deep",
            nested[0].hint,
        )


def _scandir_refusing(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.scandir of every folder named `closed-*` fails, as for a folder gone or closed."""
    real = os.scandir

    def scandir(path: str | Path = ".") -> object:
        if os.path.basename(str(path)).startswith("closed-"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_listed_does_not_hide_the_others(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Open and closed folders side by side: whatever order they are listed in, a closed one
    # is met while open ones wait their turn.
    for n in range(10):
        place(root, f"archive/pci-prod/open-{n}/a.yaml", "a: 1\n")
        place(root, f"archive/pci-prod/closed-{n}/a.yaml", "a: 1\n")
    _scandir_refusing(monkeypatch)
    assert Repo.at(root).archive_names() == [f"archive/pci-prod/open-{n}/a.yaml" for n in range(10)]


def test_a_terraform_folder_that_cannot_be_listed_does_not_hide_the_others(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(10):
        place(root, f"terraform/modules/open-{n}/main.tf", 'locals {\n  a = "b"\n}\n')
        place(root, f"terraform/modules/closed-{n}/main.tf", 'locals {\n  a = "b"\n}\n')
    _scandir_refusing(monkeypatch)
    _, readable = configuration.list_configuration(root / "terraform", root)
    names = {relative for relative, _ in readable if relative.startswith("terraform/modules/")}
    assert names == {f"terraform/modules/open-{n}/main.tf" for n in range(10)}


def test_a_terraform_cache_that_is_a_symlink_loop_is_reported_not_skipped(root: Path) -> None:
    """Asking whether a looping link is a folder fails (ELOOP): it is then no folder, so it is
    found as the symlink it is rather than passed over as `terraform init`'s cache."""
    os.symlink(".terraform", root / "terraform" / ".terraform")
    assert Repo.at(root).symlinks() == ["terraform/.terraform"]
