"""The hierarchy rules that decide whether a logged resource lies within a grant."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from generator.core.model import Grant
from generator.review.scope import (
    Hierarchy,
    ReachKeys,
    canonical,
    covering,
    covers,
    reach_depth,
    reach_key,
)
from tests.lanes import examples

HIERARCHY = Hierarchy(
    project_of={"settlement-exports": "pci-prod-payments"},
    project_numbers={"318305520187": "pci-prod-payments"},
    folder_of={"stg-payments": "folders/204518736091"},
)
PAYMENTS_LOG = "projects/pci-prod-payments/logs/cloudaudit.googleapis.com%2Fdata_access"

PROJECT = Grant("roles/cloudsql.client", "project", "pci-prod-payments")
BUCKET = Grant("roles/storage.objectViewer", "bucket", "settlement-exports")
SECRET = Grant(
    "roles/secretmanager.viewer",
    "secret",
    "projects/pci-prod-payments/secrets/settlement-db-readonly",
)
DATASET = Grant("roles/bigquery.dataViewer", "dataset", "pci-prod-analytics.chargebacks")
FOLDER = Grant("roles/resourcemanager.folderViewer", "folder", "folders/204518736091")
ORGANIZATION = Grant("roles/iam.securityReviewer", "organization", "618305524870")
ACCOUNT = Grant(
    "roles/iam.serviceAccountViewer",
    "service_account",
    "batch-runner@stg-payments.iam.gserviceaccount.com",
)


@pytest.mark.parametrize(
    ("grant", "name", "inside"),
    [
        # project: itself, anything below, its buckets (by project_of), full names, numbers
        (PROJECT, "projects/pci-prod-payments", True),
        (PROJECT, "projects/pci-prod-payments/instances/settlement-db", True),
        (PROJECT, "//cloudresourcemanager.googleapis.com/projects/pci-prod-payments", True),
        (PROJECT, "projects/318305520187/secrets/settlement-db-readonly", True),
        (PROJECT, "projects/_/buckets/settlement-exports/objects/x.csv", True),
        (PROJECT, "projects/_/buckets/chargeback-evidence/objects/x.csv", False),
        (PROJECT, "projects/pci-prod-payments-old/instances/db", False),
        (PROJECT, "projects/pci-prod-analytics", False),
        # names relative to a project are read in the project whose log holds the entry
        (PROJECT, "instances/settlement-db", True),
        # bucket: itself and its objects, whatever the project segment says
        (BUCKET, "projects/_/buckets/settlement-exports", True),
        (BUCKET, "projects/_/buckets/settlement-exports/objects/2026/a.csv", True),
        (BUCKET, "//storage.googleapis.com/projects/_/buckets/settlement-exports", True),
        (BUCKET, "projects/_/buckets/settlement-exports-copy/objects/a.csv", False),
        (BUCKET, "projects/pci-prod-payments", False),
        # secret: itself and its versions, by ID or number
        (SECRET, "projects/pci-prod-payments/secrets/settlement-db-readonly/versions/3", True),
        (SECRET, "projects/318305520187/secrets/settlement-db-readonly/versions/latest", True),
        (SECRET, "projects/pci-prod-payments/secrets/settlement-db-admin", False),
        # dataset P.D: its tables
        (DATASET, "projects/pci-prod-analytics/datasets/chargebacks/tables/november", True),
        (DATASET, "projects/pci-prod-analytics/datasets/settlements/tables/november", False),
        (DATASET, "projects/pci-prod-analytics/jobs/bquxjob_1", False),
        # folder: folder names below it, and projects folder_of places in it
        (FOLDER, "folders/204518736091", True),
        (FOLDER, "projects/stg-payments/instances/db", True),
        (FOLDER, "projects/pci-prod-payments", False),
        # organization: any name (sources read only resources in the organization)
        (ORGANIZATION, "projects/stg-payments", True),
        # service account: by email, case-insensitive
        (
            ACCOUNT,
            "projects/stg-payments/serviceAccounts/batch-runner@stg-payments.iam.gserviceaccount.com",
            True,
        ),
        (
            ACCOUNT,
            "projects/-/serviceAccounts/Batch-Runner@stg-payments.iam.gserviceaccount.com/keys/1",
            True,
        ),
        (ACCOUNT, "projects/-/serviceAccounts/other@stg-payments.iam.gserviceaccount.com", False),
        # ... and never an object whose name holds the account's path, in any bucket
        (
            ACCOUNT,
            "projects/_/buckets/foreign/objects/serviceAccounts/"
            "batch-runner@stg-payments.iam.gserviceaccount.com/key.json",
            False,
        ),
        (BUCKET, "projects/_/buckets/foreign/objects/buckets/settlement-exports/a.csv", False),
        (PROJECT, "projects/_/buckets/foreign/objects/buckets/settlement-exports/a.csv", False),
        # an empty name is never within a grant
        (ORGANIZATION, "", False),
    ],
)
def test_covers(grant: Grant, name: str, inside: bool) -> None:
    assert covers(grant, name, HIERARCHY, PAYMENTS_LOG) is inside


def test_relative_names_need_a_project_log() -> None:
    folder_log = "folders/204518736091/logs/cloudaudit.googleapis.com%2Factivity"
    assert not covers(PROJECT, "instances/settlement-db", HIERARCHY, folder_log)


def test_dataset_in_resource_name_form() -> None:
    grant = Grant(
        "roles/bigquery.dataViewer", "dataset", "projects/pci-prod-analytics/datasets/chargebacks"
    )
    assert covers(grant, "projects/pci-prod-analytics/datasets/chargebacks/tables/t", HIERARCHY)


def test_canonical_rewrites() -> None:
    assert canonical(
        "//secretmanager.googleapis.com/projects/318305520187/secrets/s", HIERARCHY
    ) == ("projects/pci-prod-payments/secrets/s")


def split_canonical(name: str, hierarchy: Hierarchy, log_name: str = "") -> str:
    """`canonical` as first written: the project number replaced in the split name."""
    if name.startswith("//"):
        name = name[2:].partition("/")[2]
    roots = ("projects/", "folders/", "organizations/", "billingAccounts/")
    if not name.startswith(roots) and log_name.startswith("projects/"):
        name = f"projects/{log_name.split('/')[1]}/{name}"
    parts = name.split("/")
    if len(parts) > 1 and parts[0] == "projects" and parts[1] in hierarchy.project_numbers:
        parts[1] = hierarchy.project_numbers[parts[1]]
    return "/".join(parts)


segments = st.sampled_from(
    [
        "projects",
        "buckets",
        "serviceAccounts",
        "_",
        "-",
        "318305520187",
        "settlement-exports",
        "pci-prod-payments",
        "objects",
        "a.csv",
        "",
        "/",
        "//x.googleapis.com",
    ]
)
names = st.lists(segments, max_size=7).map("/".join)


@settings(max_examples=examples(1000), derandomize=True, database=None, deadline=None)
@given(name=names, log_name=st.sampled_from(["", PAYMENTS_LOG, "projects/318305520187/logs/x"]))
@example(name="projects/318305520187", log_name="")
@example(name="projects/318305520187/", log_name="")
@example(name="projects/318305520187/secrets/s", log_name="")
@example(name="buckets/", log_name="")
@example(name="projects/_/buckets/b/objects/buckets/c", log_name="")
def test_names_are_read_as_their_split_segments_say(name: str, log_name: str) -> None:
    assert canonical(name, HIERARCHY, log_name) == split_canonical(name, HIERARCHY, log_name)
    grants = (PROJECT, BUCKET, SECRET, DATASET, FOLDER, ORGANIZATION, ACCOUNT)
    found = covering(grants, name, HIERARCHY, log_name)
    assert found == [g for g in grants if covers(g, name, HIERARCHY, log_name)]


GRANTS = (PROJECT, BUCKET, SECRET, DATASET, FOLDER, ORGANIZATION, ACCOUNT)
# Grants whose names are read deeper or shallower than the usual four segments.
DEEP = Grant("roles/bigquery.dataViewer", "dataset", "projects/pci-prod-analytics/datasets/x.y")
SHALLOW = Grant("roles/resourcemanager.folderViewer", "folder", "folders/_/buckets/b/objects")
reach_segments = segments | st.sampled_from(
    [
        "folders",
        "204518736091",
        "secrets",
        "settlement-db-readonly",
        "datasets",
        "chargebacks",
        "pci-prod-analytics",
        "x.y",
        "b",
        "batch-runner@stg-payments.iam.gserviceaccount.com",
        "Batch-Runner@stg-payments.iam.gserviceaccount.com",
        "stg-payments",
    ]
)
logs = st.sampled_from(
    ["", PAYMENTS_LOG, "projects/318305520187/logs/x", "projects/stg-payments/logs/x", "folders/1"]
)
# Bucket b lies in a project of the folder: a folder grant reads a bucket's name too.
REACH_HIERARCHY = replace(HIERARCHY, project_of={**HIERARCHY.project_of, "b": "stg-payments"})


@settings(max_examples=examples(2000), derandomize=True, database=None, deadline=None)
@given(
    grants=st.lists(st.sampled_from((*GRANTS, DEEP, SHALLOW)), min_size=1, max_size=3),
    stem=st.lists(reach_segments, max_size=7),
    named=st.lists(
        st.tuples(st.integers(0, 7), st.lists(reach_segments, max_size=2), logs),
        min_size=2,
        max_size=12,
    ),
)
@example(
    grants=[SECRET],
    stem=["projects", "pci-prod-payments", "secrets", "settlement-db-readonly"],
    named=[(4, [], ""), (3, ["other"], "")],
)
@example(
    grants=[FOLDER],
    stem=["projects", "_", "buckets", "b"],
    named=[(4, [], ""), (3, ["settlement-exports"], "")],
)
def test_names_of_one_reach_key_are_covered_by_the_same_grants(
    grants: list[Grant], stem: list[str], named: list[tuple[int, list[str], str]]
) -> None:
    """`reach_key` keeps all `covering` reads: names that share a key share their grants.

    The names share a stem (the first segments of each) so that many share a key."""
    depth = reach_depth(grants, REACH_HIERARCHY)
    assert depth is not None
    seen: dict[str | None, tuple[int, ...]] = {}
    for length, tail, log_name in named:
        name = "/".join(stem[:length] + tail)
        found = tuple(id(g) for g in covering(grants, name, REACH_HIERARCHY, log_name))
        key = reach_key(name, REACH_HIERARCHY, log_name, depth)
        assert seen.setdefault(key, found) == found, (name, key)
        # The key is the name as far as it is read: all of it, or a prefix cut after a slash
        # (none read at all: the empty prefix).
        whole = canonical(name, REACH_HIERARCHY, log_name)
        if not name:
            assert key is None
        else:
            assert key is not None
            assert key == whole or (whole.startswith(key) and key[-1:] in ("/", ""))


def test_reach_keys_read_no_deeper_than_the_grants_do() -> None:
    """Objects of one bucket share a key; a grant whose name is longer is read as deep."""
    depth = reach_depth(GRANTS[:2], HIERARCHY)
    assert depth == 4
    keys = {
        reach_key(f"projects/_/buckets/settlement-exports/objects/{n}.csv", HIERARCHY, "", 4)
        for n in range(3)
    }
    assert keys == {"projects/_/buckets/settlement-exports/"}
    assert reach_key("projects/_/buckets/settlement-exports", HIERARCHY, "", 4) == (
        "projects/_/buckets/settlement-exports"
    )
    assert reach_depth([DEEP], HIERARCHY) == 4
    assert reach_depth([DEEP, SHALLOW], HIERARCHY) == 5
    assert reach_depth([ORGANIZATION], HIERARCHY) == 0
    assert reach_key("anything/at/all", HIERARCHY, "", 0) == ""
    assert reach_key("", HIERARCHY, "", 0) is None


def test_a_kind_lapse_does_not_know_has_no_reach_depth() -> None:
    assert reach_depth([Grant("roles/viewer", "no-such-kind", "x")], HIERARCHY) is None


@settings(max_examples=examples(1000), derandomize=True, database=None, deadline=None)
@given(
    depth=st.integers(0, 6),
    stem=st.lists(reach_segments, max_size=7),
    named=st.lists(
        st.tuples(st.integers(0, 7), st.lists(reach_segments, max_size=2), logs),
        min_size=1,
        max_size=30,
    ),
    bound=st.integers(1, 5),
)
def test_a_remembered_reach_key_is_the_one_worked_out_afresh(
    depth: int,
    stem: list[str],
    named: list[tuple[int, list[str], str]],
    bound: int,
) -> None:
    """`ReachKeys` answers as `reach_key` does, for names met again and after it forgot
    them all (a small bound here, so it forgets often), and holds no more than its bound."""
    keys = ReachKeys(REACH_HIERARCHY, depth, bound)
    for length, tail, log_name in named * 2:
        name = "/".join(stem[:length] + tail)
        assert keys(name, log_name) == reach_key(name, REACH_HIERARCHY, log_name, depth)
        assert sum(map(len, keys._by_log.values())) <= bound


def test_the_tallies_of_one_read_remember_reach_keys_together() -> None:
    """One `ReachKeys` per hierarchy and depth, shared by every tally of a read that reads
    names alike: what one grantee's events taught serves the next."""
    from generator.review.collector import Collector
    from tests.unit.review.conftest import GRACE, request, subject

    people = ["alice@example.com", "bob@example.com"]
    subjects = [
        subject(request(id=f"inc-{4700 + n}-x", requester=who)) for n, who in enumerate(people)
    ]
    tallies = Collector(subjects, grace=GRACE).tallies
    assert tallies[0]._reach_key is not None
    assert tallies[0]._reach_key is tallies[1]._reach_key
