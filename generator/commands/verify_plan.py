"""`lapse verify-plan PLAN_JSON`: every change of a plan traced to an approval, or refused."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.commands import adapters, options
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.core.wording import count
from generator.core.writing import write_file

# ruff: noqa: PLC0415 - stages load when the command runs, not for its help


@click.command("verify-plan")
@click.argument("plan_json", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since-commit",
    "since",
    metavar="SHA",
    help="The last commit applied from main; changes other than rendered bindings are allowed "
    "only if every commit after it that changed terraform/ was approved by the security owners, "
    "and so are commits after it that changed archive/ or reports/ other than as lapse does.",
)
@click.option(
    "--since-last-apply",
    "last_apply",
    is_flag=True,
    help="Take --since-commit from the record the apply job writes after a successful apply "
    "(a deployment of production), checked against the workflow run that wrote it and main's "
    "first-parent history. What the apply workflow uses.",
)
@click.option(
    "--evidence",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the verdict on every change, with its approvals, as JSON to this file.",
)
@options.root_option
def verify_plan(
    plan_json: Path, since: str | None, last_apply: bool, evidence: Path | None, root: Path
) -> int:
    """Check that every change in PLAN_JSON (`terraform show -json tfplan`) was approved.

    Exit 0 when every change is verified, 1 naming each refused change, 2 for usage or
    configuration, 3 when GitHub fails after retries.
    """
    from generator.checks.record_history import mainline_problems
    from generator.checks.validate import validate_repo
    from generator.lifecycle.emergency import emergency_history, repeat_paths
    from generator.lifecycle.record_approvals import judge_records
    from generator.lifecycle.verify_plan import applied_baseline
    from generator.lifecycle.verify_plan import verify_plan as verify
    from generator.terraform.plan import read_plan

    repo = Repo.at(root)
    if last_apply and since:
        raise click.UsageError("give --since-commit or --since-last-apply, not both")
    if last_apply:
        since = applied_baseline(repo, adapters.github(), adapters.github_repository())
        click.echo(f"the last apply applied {since}", err=True)
    try:
        text = plan_json.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {plan_json}: {exc}") from None
    changes = read_plan(text, source=str(plan_json))
    policy = options.policy_or_exit(repo)
    requests = validate_repo(repo, now=None).requests
    history, unreadable = emergency_history(repo)
    repeats = repeat_paths(policy, history)
    skipped = options.show_unreadable(repo, unreadable)
    result = verify(
        repo,
        policy,
        requests,
        changes,
        since=since,
        github=adapters.github,
        repeat_emergencies=repeats,
    )
    found = mainline_problems(repo.root, since) if since else {}
    records = judge_records(found, policy, adapters.github)
    for verdict in result.verdicts:
        click.echo(verdict.line())
    for record in records:
        for line in record.lines():
            click.echo(line)
    if evidence is not None:
        data = {**result.evidence, "records": [record.evidence for record in records]}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
        write_file(evidence, text + "\n")
    refused = sum(v.outcome != "verified" for v in result.verdicts)
    summary = f"{len(result.verdicts)} changes, {refused} not verified"
    click.echo(summary if refused else f"{len(result.verdicts)} changes, all verified", err=True)
    wrong = sum(not record.ok for record in records)
    if wrong:
        click.echo(
            f"{count(wrong, 'commit')} since {since} changed archive/ or reports/ "
            "without the security owners' approval",
            err=True,
        )
    return options.outcome(not result.ok or skipped or wrong > 0)
