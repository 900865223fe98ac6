"""`lapse init`'s values: the answers, the files they become, and what a copy loses.

A copy of this repository holds an example organization: its policy, sample requests and
their grant files, audit configs for its projects, and lapse's own development kit, whose
tests read those samples. `plan` turns the answers into the exact changes that make the copy
an organization's own: files to write (whole, from the answers only) and paths to remove.
Running it again with the same answers plans nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The example organization's files, removed by `lapse init`: sample requests, the grant files
# `lapse render` wrote from them, and any archive/ or reports/ they left. One list, held to
# the repository by a test: every file under requests/ and terraform/grants/ (but
# _module.tf) is here, and every path here exists in lapse's own repository.
SAMPLES = (
    "requests/pci-prod/inc-4512-settlement-batch.yaml",
    "requests/pci-prod/inc-4530-secret-metadata.yaml",
    "requests/pci-prod/inc-4533-chargeback-query.yaml",
    "requests/staging/chg-1207-folder-review.yaml",
    "requests/staging/chg-1210-batch-runner.yaml",
    "terraform/grants/pci-prod.inc-4512-settlement-batch.tf",
    "terraform/grants/pci-prod.inc-4530-secret-metadata.tf",
    "terraform/grants/pci-prod.inc-4533-chargeback-query.tf",
    "terraform/grants/staging.chg-1207-folder-review.tf",
    "terraform/grants/staging.chg-1210-batch-runner.tf",
)
# lapse's own development: its tests and benchmarks read the samples above, so they would
# fail in an organization's copy; CI for the copy is validate.yml, apply.yml and the rest.
DEVELOPMENT_FOLDERS = ("tests", "bench")
DEVELOPMENT = (
    *DEVELOPMENT_FOLDERS,
    ".github/workflows/ci.yml",
    ".github/workflows/mutation.yml",
)
WRITTEN = (
    "policy/policy.yaml",
    "terraform/audit_logging.tf",
    "terraform/grants.tf",
    "terraform/backend.tf",
)

NUMBER = re.compile(r"[1-9][0-9]{0,19}")
TEAM = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
OWNER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9][A-Za-z0-9._-]{0,99})?")
TARGET = re.compile(r"[a-z][a-z0-9-]{1,30}")
PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL = re.compile(rf"[a-z0-9][a-z0-9._%+-]{{0,63}}@{LABEL}(?:\.{LABEL})+")
# Cloud Storage bucket names without dots (a dotted name needs a verified domain).
BUCKET = re.compile(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class Target:
    name: str
    folder: str
    projects: tuple[str, ...]
    approvers: str


@dataclass(frozen=True)
class Answers:
    organization: str
    targets: tuple[Target, ...]
    security_owners: tuple[str, ...]
    people: tuple[tuple[str, str], ...]
    state_bucket: str
    emergency_team: str | None = None


@dataclass(frozen=True)
class Plan:
    write: dict[str, str]  # path -> text, only files whose text differs
    unchanged: tuple[str, ...]
    remove: tuple[str, ...]  # files and folders present now

    @property
    def empty(self) -> bool:
        return not self.write and not self.remove


def _matching(pattern: re.Pattern[str], value: str, what: str) -> str:
    value = value.strip()
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def organization(value: str) -> str:
    return _matching(NUMBER, value, "an organization number (digits, as in organizations/N)")


def folder(value: str) -> str:
    return _matching(NUMBER, value.removeprefix("folders/"), "a folder number (digits)")


def team(value: str) -> str:
    return _matching(TEAM, value, "a GitHub team, written @org/team")


def owner(value: str) -> str:
    return _matching(OWNER, value, "a GitHub team (@org/team) or user (@login)")


def bucket(value: str) -> str:
    name = _matching(
        BUCKET, value, "a bucket name (3-63 of a-z, 0-9, - and _, starting and ending alphanumeric)"
    )
    if name.startswith("goog") or "google" in name:
        raise ValueError(f"{name!r}: bucket names may not start with goog or hold google")
    return name


def target_name(value: str) -> str:
    return _matching(
        TARGET, value, "a target name (2-31 of a-z, 0-9 and -, starting with a letter)"
    )


def project(value: str) -> str:
    return _matching(PROJECT, value, "a Google Cloud project id")


def person(value: str) -> tuple[str, str]:
    login, sep, email = value.partition("=")
    if not sep:
        raise ValueError(f"{value!r} is not LOGIN=EMAIL")
    return (
        _matching(LOGIN, login, "a GitHub login"),
        _matching(EMAIL, email, "an email address in lower case"),
    )


def target(value: str) -> Target:
    """NAME:FOLDER:PROJECT[,PROJECT...]:@ORG/TEAM."""
    parts = value.split(":")
    if len(parts) != 4:
        raise ValueError(f"{value!r} is not NAME:FOLDER:PROJECT[,PROJECT...]:@ORG/TEAM")
    name, number, projects, approvers = parts
    listed = [p.strip() for p in projects.split(",") if p.strip()]
    if not listed:
        raise ValueError(f"{value!r} names no project")
    return Target(target_name(name), folder(number), tuple(map(project, listed)), team(approvers))


def checked(answers: Answers) -> Answers:
    """The answers, or ValueError for what no single answer shows: repeats across answers."""
    names = [t.name for t in answers.targets]
    projects = [p for t in answers.targets for p in t.projects]
    logins = [login.lower() for login, _ in answers.people]
    emails = [email for _, email in answers.people]
    for what, values in (("target", names), ("project", projects), ("person", logins)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"{what} {', '.join(repeated)} given twice")
    if len(set(emails)) != len(emails):
        raise ValueError("one email for two people: each person has their own Google identity")
    if not answers.targets or not answers.people or not answers.security_owners:
        raise ValueError("at least one target, one person and one security owner are needed")
    return answers


def _quoted(values: tuple[str, ...] | list[str], indent: str) -> str:
    return "".join(f'{indent}- "{v}"\n' for v in values)


def policy_text(answers: Answers) -> str:
    domains = sorted({email.partition("@")[2] for _, email in answers.people})
    people = "".join(f"  {login}: {email}\n" for login, email in answers.people)
    targets = "\n".join(_target_text(t, answers, domains) for t in answers.targets)
    return (
        "# yaml-language-server: $schema=../schemas/policy.schema.json\n"
        "#\n"
        "# Who may get what, where, for how long, and who approves it.\n"
        "# Owned by the security team: changes here are reviewed by `security_owners`.\n\n"
        f"security_owners:\n{_quoted(answers.security_owners, '  ')}\n"
        "limits:\n"
        "  max_active_requests_per_person: 3\n"
        "  reason_min_length: 15\n"
        "  reason_max_length: 500\n\n"
        "# GitHub login -> the one Google identity of that person (PCI DSS 8.2.1, 8.2.2).\n"
        f"people:\n{people}\n"
        f"targets:\n{targets}"
    )


READ_ONLY_ROLES = ("roles/cloudsql.viewer", "roles/logging.viewer", "roles/storage.objectViewer")
AUDIT_SERVICES = ("cloudsql.googleapis.com", "storage.googleapis.com")


def _target_text(t: Target, answers: Answers, domains: list[str]) -> str:
    emergency = ""
    if answers.emergency_team:
        emergency = (
            "    # Break-glass: requests under requests/"
            f"{t.name}/emergency/, approved by the on-call team.\n"
            "    emergency:\n"
            f'      approvers:\n        - "{answers.emergency_team}"\n'
            "      max_duration: 1h\n"
            f"      roles:\n{_quoted(list(READ_ONLY_ROLES[:2]), '        ')}"
            '      ticket_pattern: "^INC-[0-9]{4,6}$"\n'
            "      normal_approval_within: 24h\n"
            "      max_per_person: 3\n"
            "      max_per_target: 10\n"
            "      window: 30d\n"
            "      review_within: 24h\n"
        )
    return (
        f"  {t.name}:\n"
        f'    approvers:\n      - "{t.approvers}"\n'
        "    hierarchy:\n"
        f"      - organizations/{answers.organization}\n"
        f"      - folders/{t.folder}\n"
        "    max_duration: 4h\n"
        "    max_lead_time: 7d\n"
        '    ticket_pattern: "^(INC|CHG)-[0-9]{1,8}$"\n'
        f"    domains:\n{_quoted(domains, '      ')}"
        f"    roles:\n{_quoted(list(READ_ONLY_ROLES), '      ')}"
        f"    resources:\n      project:\n{_quoted(list(t.projects), '        ')}"
        f"    audit_services:\n{_quoted(list(AUDIT_SERVICES), '      ')}"
        f"{emergency}"
    )


def _config_name(project: str) -> str:
    return project.replace("-", "_")


def audit_logging_text(answers: Answers) -> str:
    blocks = []
    for t in answers.targets:
        for project in t.projects:
            blocks.append(
                f'resource "google_project_iam_audit_config" "{_config_name(project)}" {{\n'
                f'  project = "{project}"\n'
                '  service = "allServices"\n\n'
                '  audit_log_config {\n    log_type = "ADMIN_READ"\n  }\n'
                '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n'
                '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n'
                "}\n"
            )
    return (
        "# Audit logs for every project temporary access can reach (PCI DSS 10.2.1): all three\n"
        "# Data Access types, no exempted_members (LAPSE260-263). A project added to a target in\n"
        "# policy/policy.yaml gets its config here and in grants.tf's depends_on (LAPSE264).\n\n"
        + "\n".join(blocks)
    )


def grants_text(answers: Answers) -> str:
    configs = "".join(
        f"    google_project_iam_audit_config.{_config_name(p)},\n"
        for t in answers.targets
        for p in t.projects
    )
    return (
        "# Every file in grants/ is written by `lapse render` from one request in requests/.\n"
        "# depends_on: every audit config in audit_logging.tf is in place before any grant is\n"
        "# created, so access is never usable unlogged, even within one apply (LAPSE264).\n"
        'module "grants" {\n'
        '  source = "./grants"\n\n'
        f"  depends_on = [\n{configs}  ]\n"
        "}\n"
    )


def backend_text(answers: Answers) -> str:
    return (
        "# State lives in a versioned Cloud Storage bucket with uniform bucket-level access,\n"
        "# owned by the security team. The workflows pass the same bucket as the repository\n"
        "# variable"
        ' TF_STATE_BUCKET (terraform init -backend-config="bucket=...").\n'
        "terraform {\n"
        '  backend "gcs" {\n'
        f'    bucket = "{answers.state_bucket}"\n'
        '    prefix = "lapse/grants"\n'
        "  }\n"
        "}\n"
    )


def texts(answers: Answers) -> dict[str, str]:
    return dict(
        zip(
            WRITTEN,
            (
                policy_text(answers),
                audit_logging_text(answers),
                grants_text(answers),
                backend_text(answers),
            ),
            strict=True,
        )
    )


def plan(root: Path, answers: Answers) -> Plan:
    """What `lapse init` changes in the checkout at `root`: nothing once it has run."""
    write: dict[str, str] = {}
    unchanged: list[str] = []
    for path, text in texts(answers).items():
        file = root / path
        current = file.read_bytes() if file.is_file() and not file.is_symlink() else None
        if current == text.encode("utf-8"):
            unchanged.append(path)
        else:
            write[path] = text
    present = [
        p for p in (*SAMPLES, *DEVELOPMENT) if (root / p).is_symlink() or (root / p).exists()
    ]
    return Plan(write, tuple(unchanged), tuple(present))
