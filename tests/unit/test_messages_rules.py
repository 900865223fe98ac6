"""The texts a person acts on when a rule refuses: message, hint and place, word for word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.checks.validate import validate_policy, validate_repo
from generator.core.model import Problem
from generator.core.repo import Repo
from tests.support import NOW, make_repo, place
from tests.unit import test_emergency as emergency
from tests.unit.test_rules import request

# --- LAPSE251 / LAPSE253: which permissions make a role persistent ------------------------


def _lock_role(root: Path, role: str, permissions: list[str]) -> None:
    """Give `role` exactly `permissions` in the repository's roles lock."""
    path = root / "policy" / "roles.lock.json"
    lock = json.loads(path.read_text())
    lock["roles"][role]["permissions"] = permissions
    path.write_text(json.dumps(lock, indent=2) + "\n")


def _policy_problems(root: Path, rule_id: str) -> list[Problem]:
    _, problems = validate_policy(Repo.at(root))
    return [p for p in problems if p.rule == rule_id]


def _repo_problems(root: Path, rule_id: str) -> list[Problem]:
    return [p for p in validate_repo(Repo.at(root), now=NOW).problems if p.rule == rule_id]


SET_POLICY = [f"service{n}.things.setIamPolicy" for n in range(1, 8)]


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (6, ", ".join(SET_POLICY[:6])),
        (7, ", ".join(SET_POLICY[:6]) + ", ..."),
    ],
)
def test_a_persistent_role_names_at_most_six_permissions_then_an_ellipsis(
    tmp_path: Path, count: int, shown: str
) -> None:
    root = make_repo(tmp_path)
    _lock_role(root, "roles/cloudsql.client", SET_POLICY[:count])
    found, _ = _policy_problems(root, "LAPSE253")  # pci-prod, then staging
    assert found.message == (
        "targets.pci-prod allows roles/cloudsql.client, which can leave access behind: "
        f"{shown} (iam_policy)"
    )


def test_a_persistent_role_names_every_group_it_falls_in(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    _lock_role(root, "roles/cloudsql.client", ["iam.roles.create", "a.b.setIamPolicy"])
    place(root, "requests/pci-prod/inc-4512-batch.yaml", request())
    (found,) = _repo_problems(root, "LAPSE251")
    assert (found.path, found.line, found.col) == ("requests/pci-prod/inc-4512-batch.yaml", 8, 5)
    assert found.message == (
        "roles/cloudsql.client can leave access behind after expiry: "
        "a.b.setIamPolicy, iam.roles.create (custom_roles, iam_policy)"
    )
    assert found.hint == (
        "ask for a role without these permissions; exceptions are listed "
        "under the target's persistence_exceptions with a justification"
    )


# --- policy rules carry their hint ----------------------------------------------------------


def test_a_policy_problem_carries_its_hint(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    policy = root / "policy" / "policy.yaml"
    text = policy.read_text()
    policy.write_text(
        text.replace(
            "dave-li: dave@example.com",
            "dave-li: dave@example.com\n"
            "  batch-bot: batch@pci-prod-payments.iam.gserviceaccount.com",
        )
    )
    (found,) = _policy_problems(root, "LAPSE273")
    line = (
        policy.read_text()
        .splitlines()
        .index("  batch-bot: batch@pci-prod-payments.iam.gserviceaccount.com")
        + 1
    )
    assert (found.path, found.line, found.col) == ("policy/policy.yaml", line, 14)
    assert found.message == (
        "batch-bot: batch@pci-prod-payments.iam.gserviceaccount.com is a service account"
    )
    assert found.hint == "list the person's own Google identity"


# --- LAPSE285: a provider that is not Google's ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "where"),
    [
        ('provider "aws" {\n  region = "eu-west-1"\n}\n', "aws", (1, 1)),
        (
            'terraform {\n  required_providers {\n    evil = {\n      source = "evil/evil"\n'
            "    }\n  }\n}\n",
            "evil/evil",
            (3, 5),
        ),
        (  # a source that cannot be read is named as written
            "terraform {\n  required_providers {\n    google = { source = evil }\n  }\n}\n",
            "{ source = evil }",
            (3, 5),
        ),
    ],
)
def test_a_provider_that_is_not_googles_is_refused_with_what_to_use(
    tmp_path: Path, text: str, name: str, where: tuple[int, int]
) -> None:
    root = make_repo(tmp_path)
    place(root, "terraform/extra.tf", text)
    (found,) = _repo_problems(root, "LAPSE285")
    assert found == Problem(
        "terraform/extra.tf",
        *where,
        "LAPSE285",
        "error",
        f"provider {name} is not Google's: it would run with the apply identity's credentials",
        "use hashicorp/google or hashicorp/google-beta",
    )


# --- a request's problem with nothing more to say -------------------------------------------


def test_a_request_problem_without_a_hint_has_none(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    text = request(starts="2026-11-30T13:00:00Z", expires="2026-11-30T09:00:00Z")
    place(root, "requests/pci-prod/alice-backwards.yaml", text)
    (found,) = _repo_problems(root, "LAPSE301")
    assert (found.message, found.hint) == ("expires must be after starts", "")


# --- LAPSE134: an archived file in the wrong place --------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "said", "hint"),
    [
        (
            "archive/pci-prod/inc-4412-flat.yaml",
            request(),
            "a file in archive/ outside archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml",
            "move it to archive/pci-prod/2026-11/inc-4412-flat.yaml",
        ),
        (
            "archive/pci-prod/2026-10/inc-4410-moved.yaml",
            request(),
            "filed under 2026-10/ but its window ended in 2026-11",
            "move it to archive/pci-prod/2026-11/inc-4410-moved.yaml",
        ),
        (
            "archive/pci-prod/2026-11/inc-4417-none.yaml",
            "requester: x\n",
            "an archived request needs one readable `expires`, the month it is filed under",
            "restore the file as it was merged",
        ),
    ],
)
def test_a_misplaced_archive_file_is_told_where_it_belongs(
    tmp_path: Path, path: str, text: str, said: str, hint: str
) -> None:
    root = make_repo(tmp_path)
    place(root, path, text)
    (found,) = _repo_problems(root, "LAPSE134")
    assert (found.path, found.message, found.hint) == (path, said, hint)


# --- LAPSE263 / LAPSE264: an audit config that logs too little, or too late -----------------


def test_an_audit_config_names_what_it_logs_what_is_missing_and_what_it_precedes(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path)
    place(
        root,
        "terraform/more_logging.tf",
        '# more\nresource "google_folder_iam_audit_config" "two" {\n'
        '  folder  = "folders/204518736091"\n  service = "iam.googleapis.com"\n\n'
        '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n'
        '  audit_log_config {\n    log_type = "ADMIN_READ"\n  }\n}\n\n'
        'resource "google_folder_iam_audit_config" "none" {\n'
        '  folder  = "folders/204518736091"\n  service = "allServices"\n}\n',
    )
    hint = (
        "add an audit_log_config block for each of ADMIN_READ, DATA_READ, DATA_WRITE: "
        "metadata and IAM reads are ADMIN_READ, data reads DATA_READ, and both are off by "
        "default"
    )
    assert _repo_problems(root, "LAPSE263") == [
        Problem(
            "terraform/more_logging.tf",
            2,
            1,
            "LAPSE263",
            "error",
            "google_folder_iam_audit_config.two logs ADMIN_READ, DATA_WRITE for "
            "iam.googleapis.com at folder folders/204518736091, where access is granted; "
            "DATA_READ missing",
            hint,
        ),
        Problem(
            "terraform/more_logging.tf",
            14,
            1,
            "LAPSE263",
            "error",
            "google_folder_iam_audit_config.none logs nothing for allServices at folder "
            "folders/204518736091, where access is granted; ADMIN_READ, DATA_READ, "
            "DATA_WRITE missing",
            hint,
        ),
    ]
    assert _repo_problems(root, "LAPSE264") == [
        Problem(
            "terraform/more_logging.tf",
            line,
            1,
            "LAPSE264",
            "error",
            f"module.grants does not depend on google_folder_iam_audit_config.{name}: one "
            "apply may create a grant before its audit logging is on",
            f"list google_folder_iam_audit_config.{name} under depends_on in module "
            '"grants" (terraform/grants.tf)',
        )
        for line, name in ((2, "two"), (14, "none"))
    ]


# --- LAPSE296 / LAPSE297: emergencies in the rolling window ---------------------------------

EMERGENCY_HINT = (
    "ask the target's approvers with a normal request; repeated emergencies are a "
    "process problem for the security team to look at"
)


def _emergencies(tmp_path: Path, people: list[str]) -> list[Problem]:
    """The LAPSE29x problems of one new emergency by alice after one archived per person."""
    root = make_repo(tmp_path)
    for index, who in enumerate(people):
        emergency.archived(
            root, f"inc-71{index:02d}-earlier", f"2026-11-{index + 5:02d}T03:30:00Z", who
        )
    place(root, emergency.EMERGENCY, emergency.request_text())
    result = validate_repo(Repo.at(root), now=emergency.NOW, time_checked={emergency.EMERGENCY})
    return [p for p in result.problems if p.rule in ("LAPSE296", "LAPSE297")]


OTHERS = [f"{who}@example.com" for who in ("bob", "carol", "dave", "erin", "frank")]


def test_emergencies_up_to_both_limits_pass(tmp_path: Path) -> None:
    # alice's third and the target's tenth in 30 days: max_per_person 3, max_per_target 10.
    people = ["alice@example.com"] * 2 + OTHERS + OTHERS[:2]
    assert _emergencies(tmp_path, people) == []


def test_a_persons_emergency_past_the_limit_is_refused_word_for_word(tmp_path: Path) -> None:
    assert _emergencies(tmp_path, ["alice@example.com"] * 3) == [
        Problem(
            emergency.EMERGENCY,
            4,
            9,
            "LAPSE296",
            "error",
            "alice@example.com has 4 emergencies in the 30d ending with this one, "
            "more than the 3 allowed",
            EMERGENCY_HINT,
        )
    ]


def test_a_targets_emergency_past_the_limit_is_refused_word_for_word(tmp_path: Path) -> None:
    assert _emergencies(tmp_path, OTHERS * 2) == [
        Problem(
            emergency.EMERGENCY,
            4,
            9,
            "LAPSE297",
            "error",
            "pci-prod has 11 emergencies in the 30d ending with this one, more than the 10 allowed",
            EMERGENCY_HINT,
        )
    ]
