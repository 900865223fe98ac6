"""`lapse evidence`: the assessor's pack from a repository with grants, reports, an emergency and
a control failure (GitHub's issues served at the HTTP layer, in GitHub's own shapes)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from generator import cli
from generator.lifecycle import evidence_site
from tests.evidence_world import build
from tests.github_fake import REPO, shape
from tests.support import place

PERIOD = ["--from", "2026-11-01T00:00:00Z", "--to", "2026-12-07T00:00:00Z"]


PULL_LINKS = {
    "url": f"{REPO}/pulls/92",
    "html_url": "https://github.com/example-org/access/pull/92",
    "diff_url": "https://github.com/example-org/access/pull/92.diff",
    "patch_url": "https://github.com/example-org/access/pull/92.patch",
}


class Page(HTMLParser):
    """The links and element ids of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag in ("script", "link", "iframe", "img"):
            self.scripts += 1


def parsed(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def resolves(pack: Path, page: Path, href: str) -> bool:
    """Whether a link of `page` names a file of the pack (and an element id of it, if any)."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("/"):
        return False  # nothing outside the pack: no scheme, no absolute path
    name, _, fragment = href.partition("#")
    target = (page.parent / name).resolve() if name else page
    if pack.resolve() not in target.parents or not target.is_file():
        return False
    return not fragment or (target.suffix == ".html" and fragment in parsed(target).ids)


def issue(number: int, title: str, **changes: Any) -> dict[str, Any]:
    return shape(
        "issue",
        number=number,
        title=title,
        html_url=f"https://github.com/example-org/access/issues/{number}",
        **changes,
    )


@pytest.fixture
def issues(http: responses.RequestsMock) -> list[str]:
    """Issues by label, as GitHub lists them; the labels asked for, in order."""
    asked: list[str] = []
    listed = {
        "lapse-control-failure": [
            issue(
                90,
                "apply failed: <img src=x onerror=alert(1)>",
                state="closed",
                created_at="2026-11-20T10:00:00Z",
                closed_at="2026-11-21T09:00:00Z",
            ),
            issue(91, "closed before the period", state="closed",
                  created_at="2026-09-01T10:00:00Z", closed_at="2026-09-02T10:00:00Z"),
            {**issue(92, "a pull request"), "pull_request": PULL_LINKS},
        ],
        "lapse-drift": [],
    }  # fmt: skip

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        label = parse_qs(urlsplit(request.url).query)["labels"][0]
        asked.append(label)
        return 200, {"Content-Type": "application/json"}, json.dumps(listed[label])

    http.add_callback("GET", re.compile(rf"{re.escape(REPO)}/issues\?.*"), callback=answer)
    return asked


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return build(tmp_path)


def make_pack(root: Path, out: Path, *, token: bool, period: list[str] = PERIOD) -> int:
    env = {"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "example-org/access"} if token else {}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_ACTIONS"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        return cli.main(["-C", str(root), "evidence", *period, str(out)])


def test_every_requirement_links_to_evidence_and_every_hash_matches(
    root: Path, tmp_path: Path, issues: list[str]
) -> None:
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=True) == 0
    assert issues == ["lapse-control-failure", "lapse-drift"]

    manifest = json.loads((pack / "manifest.json").read_text())
    on_disk = sorted(p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file())
    assert sorted([*manifest["files"], "manifest.json"]) == on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((pack / name).read_bytes()).hexdigest() == digest, name
    head = root / ".git"
    assert head.is_dir() and len(manifest["commit"]["id"]) == 40

    index = pack / "index.html"
    rows = re.findall(r"<tr><td>([0-9.x]+)</td>.*?</tr>", index.read_text())
    assert rows[:3] == ["7.2.1", "7.2.2", "7.2.3"] and "12.10.x" in rows and "8.4.2" in rows
    for row in re.findall(r"<tr><td>[0-9.x]+</td>.*?</tr>", index.read_text()):
        links = re.findall(r'href="([^"]+)"', row)
        assert links and all(resolves(pack, index, href) for href in links), row

    pages = [p for p in pack.rglob("*.html")]
    assert len(pages) == 7  # the index and one page per grant of the period
    for page in pages:
        found = parsed(page)
        assert found.scripts == 0, page
        assert all(resolves(pack, page, href) for href in found.links), page

    text = index.read_text()
    assert "#90" in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "#91" not in text and "#92" not in text  # before the period; a pull request
    assert "No recertification was merged in the period" in text

    grant = (pack / "grants/pci-prod.inc-4512-settlement-batch.html").read_text()
    assert "&lt;script&gt;alert(0)&lt;/script&gt;" in grant and "<script>" not in grant
    assert "<svg" in grant and grant.count('class="action"') == 2
    assert "carol-diaz" in grant and "80001" in grant  # the approval: reviewers, review ids
    assert "report merged in" in grant
    assert "HIGH use-after-expiry" in grant  # the incident

    data = json.loads((pack / "evidence.json").read_text())
    assert [g["key"] for g in data["emergencies"]] == ["pci-prod/inc-7001-payments-down"]
    assert data["control_failures"]["read"] is True


def test_without_a_token_the_pack_says_what_it_could_not_read(root: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=False) == 0
    text = (pack / "index.html").read_text()
    assert "Control failures (not read)" in text and "Drift incidents (not read)" in text
    assert "no GitHub token was given" in text


def test_a_merged_recertification_is_evidence_of_7_2_4(root: Path, tmp_path: Path) -> None:
    from tests.plans import git

    place(root, "reports/recertification/2026-H2.md", "# Access recertification 2026-H2\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Merge the recertification")
    pack = tmp_path / "pack"
    later = ["--from", "2026-11-01T00:00:00Z", "--to", "2099-01-01T00:00:00Z"]
    assert make_pack(root, pack, token=False, period=later) == 0
    assert (
        "2026-H2: <code>reports/recertification/2026-H2.md</code> merged in"
        in (pack / "index.html").read_text()
    )


def test_spreadsheet_formulas_stay_text(root: Path, tmp_path: Path) -> None:
    # No field a request file may hold starts so today (the schema's patterns); the CSV does
    # not rely on that.
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=False) == 0
    data = json.loads((pack / "evidence.json").read_text())
    for n, start in enumerate(("=", "+", "-", "@")):
        data["grants"][n]["requester"] = f"{start}HYPERLINK(1)"
    written = evidence_site.files(data)["grants.csv"].decode()
    rows = list(csv.reader(io.StringIO(written)))
    assert [row[3] for row in rows[1:5]] == [
        "'=HYPERLINK(1)",
        "'+HYPERLINK(1)",
        "'-HYPERLINK(1)",
        "'@HYPERLINK(1)",
    ]


def test_a_folder_that_holds_files_or_is_a_link_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = tmp_path / "full"
    place(full, "keep.txt", "mine")
    assert make_pack(root, full, token=False) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert make_pack(root, link, token=False) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert (full / "keep.txt").read_text() == "mine" and not (tmp_path / "elsewhere").exists()


def test_a_broken_report_is_named_and_the_pack_still_built(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    place(root, "reports/pci-prod/2026-12/inc-4530-secret-metadata.json", "[1, 2")
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=False) == 1
    assert "reports/pci-prod/2026-12/inc-4530-secret-metadata.json:1:" in capsys.readouterr().err
    assert "LAPSE115" in (pack / "index.html").read_text()


def test_the_period_must_run_forwards(root: Path, tmp_path: Path) -> None:
    reversed_period = ["--from", "2026-12-07T00:00:00Z", "--to", "2026-11-01T00:00:00Z"]
    assert cli.main(["-C", str(root), "evidence", *reversed_period, str(tmp_path / "p")]) == 2


def test_issues_are_read_page_by_page(
    root: Path, tmp_path: Path, http: responses.RequestsMock
) -> None:
    pages: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        page, label = query["page"][0], query["labels"][0]
        pages.append(f"{label}:{page}")
        first = 1000 if page == "1" else 2000
        count = 100 if page == "1" and label == "lapse-control-failure" else 1
        listed = [
            issue(first + n, f"failure {first + n}", created_at="2026-11-20T10:00:00Z")
            for n in range(count)
        ]
        return 200, {"Content-Type": "application/json"}, json.dumps(listed)

    http.add_callback("GET", re.compile(rf"{re.escape(REPO)}/issues\?.*"), callback=answer)
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=True) == 0
    assert pages == ["lapse-control-failure:1", "lapse-control-failure:2", "lapse-drift:1"]
    data = json.loads((pack / "evidence.json").read_text())
    assert len(data["control_failures"]["issues"]) == 101
    assert [i["number"] for i in data["drift"]["issues"]] == [1000]


def test_an_emergency_and_a_normal_request_of_one_id_each_have_their_page(
    root: Path, tmp_path: Path
) -> None:
    from tests.plans import git
    from tests.unit.test_emergency import request_text

    place(
        root,
        "requests/pci-prod/inc-7001-payments-down.yaml",
        request_text(expires="2026-12-06T03:45:00Z"),
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "The same id, the normal path")
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=False) == 0
    data = json.loads((pack / "evidence.json").read_text())
    pages = sorted(g["page"] for g in data["grants"] if g["id"] == "inc-7001-payments-down")
    assert pages == [
        "grants/pci-prod.emergency.inc-7001-payments-down.html",
        "grants/pci-prod.inc-7001-payments-down.html",
    ]
    assert all((pack / page).is_file() for page in pages)


def test_a_window_without_starts_opens_at_its_merge(root: Path, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.plans import GIT
    from tests.unit.test_emergency import request_text

    text = request_text(expires="2026-12-20T00:00:00Z", ticket="INC-7009")
    place(root, "requests/pci-prod/inc-7009-long-window.yaml", text)
    merged = {
        "GIT_COMMITTER_DATE": "2026-11-30T00:00:00Z",
        "GIT_AUTHOR_DATE": "2026-11-30T00:00:00Z",
    }
    for args in (["add", "-A"], ["commit", "-q", "-m", "Merged before the period"]):
        subprocess.run([*GIT, *args], cwd=root, check=True, env={**os.environ, **merged})
    period = ["--from", "2026-12-10T00:00:00Z", "--to", "2026-12-12T00:00:00Z"]
    pack = tmp_path / "pack"
    assert make_pack(root, pack, token=False, period=period) == 0
    data = json.loads((pack / "evidence.json").read_text())
    assert [g["id"] for g in data["grants"]] == ["inc-7009-long-window"]


def test_the_timeline_marks_what_fell_outside_the_window() -> None:
    def action(first: str, last: str, denied: int = 0) -> dict[str, Any]:
        return {"method": "m", "count": 1, "denied": denied, "first": first, "last": last}

    grant = {
        "starts": "2026-12-01T09:00:00Z",
        "expires": "2026-12-01T13:00:00Z",
        "applied": None,
        "actions": [
            action("2026-12-01T09:00:00Z", "2026-12-01T13:00:00Z"),
            action("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z", denied=1),
            action("not a time", "2026-12-01T10:00:00Z"),
        ],
        "actions_after": [action("2026-12-01T15:00:00Z", "2026-12-01T17:00:00Z")],
    }
    drawn = evidence_site.timeline(grant)
    rows = drawn["rows"]
    assert [(r["outside"], r["denied"]) for r in rows] == [
        (False, False),
        (False, True),
        (False, False),
        (True, False),
    ]
    assert rows[0]["x"] == drawn["window"]["x"] == 10.0  # the window opens at the left edge
    assert rows[0]["x"] + rows[0]["w"] == drawn["window"]["x"] + drawn["window"]["w"]
    assert rows[3]["x"] + rows[3]["w"] == 630.0  # the last action ends at the right edge
    assert drawn["end"] == "2026-12-01 17:00"
