"""LAPSE28x: the Terraform configuration under terraform/ stays inside an allowlist.

Terraform runs provisioners, external programs and third-party providers with the apply
identity's credentials, during plan as well as apply; each rule closes one such door, and
points at the file and line that opens it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from generator.checks.rules import TreeContext, rule
from generator.core.model import Problem
from generator.terraform.configuration import LocatedBlock, TerraformFile, module_source_inside

GOOGLE_SOURCES = frozenset(
    {
        f"{host}hashicorp/{name}"
        for host in ("", "registry.terraform.io/")
        for name in ("google", "google-beta")
    }
)
GOOGLE_PROVIDERS = frozenset({"google", "google-beta"})
# `source` in an object constructor: HCL takes a quoted key and `:` as well as `=`.
_SOURCE = re.compile(r'(?:^|[{,\s])"?source"?\s*[=:]\s*"([^"]*)"')
TOP_LEVEL = frozenset(
    {"terraform", "provider", "resource", "data", "module", "variable", "locals", "output", "moved"}
)
LOCK_FILE = ".terraform.lock.hcl"
# Google data sources that hand out the apply identity's credentials, which a plan would print.
CREDENTIAL_DATA_SOURCES = frozenset(
    {
        "google_client_config",
        "google_service_account_access_token",
        "google_service_account_id_token",
        "google_service_account_jwt",
    }
)
# Functions that read the runner's files (its environment under /proc, the git config...).
FILE_FUNCTIONS = re.compile(
    r"\b(file|filebase64|filebase64sha256|filebase64sha512|filemd5|filesha1|filesha256|"
    r"filesha512|fileexists|fileset|templatefile|pathexpand|abspath)\s*\("
)


def _problem(path: str, line: int, col: int, rule_id: str, message: str, hint: str) -> Problem:
    return Problem(path, line, col, rule_id, "error", message, hint)


def _files(ctx: TreeContext) -> tuple[TerraformFile, ...]:
    return ctx.configuration.files if ctx.configuration else ()


def _blocks(ctx: TreeContext) -> Iterator[tuple[str, LocatedBlock]]:
    for file in _files(ctx):
        for block in file.blocks:
            for inner in block.walk():
                yield file.path, inner


def _is_override(name: str) -> bool:
    stem = name.removesuffix(".json").removesuffix(".tf")
    return stem == "override" or stem.endswith("_override")


@rule(
    "LAPSE280",
    "terraform/ holds only .tf files (and .terraform.lock.hcl).",
    scope="tree",
    fix="Keep only .tf files (and .terraform.lock.hcl) under terraform/; move the rest.",
)
def only_tf_files(ctx: TreeContext) -> Iterator[Problem]:
    for path in ctx.configuration.entries if ctx.configuration else ():
        name = path.rpartition("/")[2]  # entries are relative POSIX paths
        if name.endswith(".tf") or name == LOCK_FILE:
            continue
        yield _problem(
            path,
            1,
            1,
            "LAPSE280",
            f"{path}: Terraform configuration here is .tf files only",
            "write it as HCL in a .tf file; .tf.json, .tfvars and other files are refused",
        )


@rule(
    "LAPSE281",
    "No override files (override.tf, *_override.tf).",
    scope="tree",
    fix="Fold the override into the file it overrides: overrides hide changes from review.",
)
def no_overrides(ctx: TreeContext) -> Iterator[Problem]:
    for file in _files(ctx):
        if _is_override(PurePosixPath(file.path).name):
            yield _problem(
                file.path,
                1,
                1,
                "LAPSE281",
                f"{file.path} is an override file: it silently rewrites other files' blocks",
                "change the block where it is defined instead",
            )


@rule(
    "LAPSE282",
    "No provisioners or connections: they run commands.",
    scope="tree",
    fix="Remove the provisioner or connection block; Terraform here only manages IAM "
    "and audit configuration.",
)
def no_provisioners(ctx: TreeContext) -> Iterator[Problem]:
    for path, block in _blocks(ctx):
        if block.kind in ("provisioner", "connection"):
            label = f' "{block.labels[0]}"' if block.labels else ""
            yield _problem(
                path,
                block.line,
                block.col,
                "LAPSE282",
                f"{block.kind}{label} runs commands with the apply identity's credentials",
                "remove it; lapse applies IAM bindings and audit configs only",
            )


@rule(
    "LAPSE283",
    "Data sources are Google's only (no external, http, ...) and read no credentials.",
    scope="tree",
    fix="Use Google data sources only, and none that read credentials or secrets.",
)
def google_data_sources(ctx: TreeContext) -> Iterator[Problem]:
    for path, block in _blocks(ctx):
        if block.kind != "data" or not block.labels:
            continue
        kind = block.labels[0]
        if not kind.startswith("google_") or kind in CREDENTIAL_DATA_SOURCES:
            yield _problem(
                path,
                block.line,
                block.col,
                "LAPSE283",
                f'data "{kind}" runs, fetches or hands out credentials during plan',
                "remove it; only google_* data sources that read no credentials are allowed",
            )


@rule(
    "LAPSE284",
    "Modules come from folders inside terraform/, outside Terraform's .terraform cache.",
    scope="tree",
    fix="Use a module from a folder inside terraform/, reviewed and checked with the rest; "
    ".terraform is never checked.",
)
def local_modules(ctx: TreeContext) -> Iterator[Problem]:
    folder = ctx.configuration.folder if ctx.configuration else "terraform"
    for path, block in _blocks(ctx):
        if block.kind != "module":
            continue
        source = block.attribute("source")
        value = source.literal if source else None
        if value is None or not module_source_inside(folder, path, value):
            where = source or block
            yield _problem(
                path,
                where.line,
                where.col,
                "LAPSE284",
                f"module source {source.text.strip() if source else '(none)'} is not a folder "
                f"inside {folder}/",
                'use a relative path such as "./grants"; registries and URLs are refused',
            )


@rule(
    "LAPSE285",
    "Providers are google and google-beta only.",
    scope="tree",
    fix="Use the google or google-beta provider only.",
)
def google_providers(ctx: TreeContext) -> Iterator[Problem]:
    for path, block in _blocks(ctx):
        if block.kind == "provider" and block.labels and block.labels[0] not in GOOGLE_PROVIDERS:
            yield _provider_problem(path, block.line, block.col, block.labels[0])
        if block.kind != "required_providers":
            continue
        for attribute in block.attributes:
            source = _required_source(attribute.name, attribute.text)
            if source not in GOOGLE_SOURCES:
                yield _provider_problem(path, attribute.line, attribute.col, source)


def _required_source(name: str, text: str) -> str:
    """The source a required_providers entry names (lower case, as Terraform compares them),
    Terraform's default hashicorp/<name> when it names none, or the entry as written when it
    mentions a source this cannot read: never taken for Google's."""
    found = _SOURCE.findall(text)
    if len(found) == 1:
        return str(found[0]).strip().lower()
    return text.strip() if "source" in text else f"hashicorp/{name}"


def _provider_problem(path: str, line: int, col: int, name: str) -> Problem:
    return _problem(
        path,
        line,
        col,
        "LAPSE285",
        f"provider {name} is not Google's: it would run with the apply identity's credentials",
        "use hashicorp/google or hashicorp/google-beta",
    )


@rule(
    "LAPSE286",
    "Resource types come from the allowlist (policy can extend it).",
    scope="tree",
    fix="Use an allowed resource type, or extend the allowlist in the policy in a "
    "security-reviewed change.",
)
def allowed_resource_types(ctx: TreeContext) -> Iterator[Problem]:
    for path, block in _blocks(ctx):
        if block.kind == "resource" and block.labels and block.labels[0] not in ctx.resource_types:
            yield _problem(
                path,
                block.line,
                block.col,
                "LAPSE286",
                f"resource type {block.labels[0]} is not on the allowlist",
                "the security owners add types under terraform_resource_types in "
                "policy/policy.yaml",
            )


@rule(
    "LAPSE287",
    "Every .tf file under terraform/ is readable HCL.",
    scope="tree",
    fix="Fix the HCL syntax at the line shown; `terraform fmt` points at the same place.",
)
def readable(ctx: TreeContext) -> Iterator[Problem]:
    for file in _files(ctx):
        if file.error is not None:
            line, col, why = file.error
            yield _problem(
                file.path,
                line,
                col,
                "LAPSE287",
                f"cannot check it: {why}",
                "what lapse cannot read it cannot vouch for; fix the syntax",
            )


@rule(
    "LAPSE288",
    "Top-level blocks: terraform, provider, resource, data, module, variable, locals, "
    "output, moved.",
    scope="tree",
    fix="Keep to terraform, provider, resource, data, module, variable, locals, output "
    "and moved blocks.",
)
def known_blocks(ctx: TreeContext) -> Iterator[Problem]:
    for file in _files(ctx):
        for block in file.blocks:
            if block.kind not in TOP_LEVEL:
                yield _problem(
                    file.path,
                    block.line,
                    block.col,
                    "LAPSE288",
                    f"a {block.kind} block is not allowed here",
                    "import, removed and check blocks change or read state outside the plan "
                    "lapse verifies",
                )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _without_plain_strings(text: str) -> str:
    """`text` with string literals that hold no template blanked: a request's reason saying
    "the bank file (today)" is text, not a call."""
    return _STRING.sub(lambda m: m.group(0) if re.search(r"[$%]\{", m.group(0)) else '""', text)


@rule(
    "LAPSE289",
    "No functions that read files (file, templatefile, ...).",
    scope="tree",
    fix="Write the value into the configuration instead of reading it from a file.",
)
def no_file_functions(ctx: TreeContext) -> Iterator[Problem]:
    for path, block in _blocks(ctx):
        for attribute in block.attributes:
            found = FILE_FUNCTIONS.search(_without_plain_strings(attribute.text))
            if found:
                yield _problem(
                    path,
                    attribute.line,
                    attribute.col,
                    "LAPSE289",
                    f"{found.group(1)}() reads the runner's files into the plan, which prints them",
                    "write the value into the .tf file itself",
                )
