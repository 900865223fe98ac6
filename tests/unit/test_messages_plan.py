"""What `verify-plan` says of a plan it cannot read, and how it reads each change: the plan
is read as given, so these are plans Terraform would not write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.checks.validate import validate_repo
from generator.core.errors import ConfigError
from generator.core.repo import Repo
from generator.terraform.plan import Change, differences, read_plan
from generator.terraform.render import blocks
from tests.plans import binding, change, plan
from tests.support import make_repo

WHERE = "plan.json: resource_changes[0]"
LACKS = f"{WHERE} lacks one of address, mode, type, name, provider_name"


def read(*items: Any) -> list[Change]:
    return read_plan(plan(*items), source="plan.json")


def item(**fields: Any) -> dict[str, Any]:
    """A resource change of the grants module with `fields` replaced (None removes one)."""
    found = change(type_="terraform_data", name="x", actions=("create",), after={"input": 1})
    found.update(fields)
    return {key: value for key, value in found.items() if value is not None}


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (1, f"{WHERE} has no `change` object"),
        (item(change=None), f"{WHERE} has no `change` object"),
        (item(change=[]), f"{WHERE} has no `change` object"),
        (item(provider_name=None), LACKS),
        (item(name=7), LACKS),
    ],
)
def test_a_change_that_cannot_be_read_is_named_by_its_place(given: Any, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read(given)
    assert str(raised.value) == said


@pytest.mark.parametrize("actions", [[], "create", ["create", 1], None])
def test_a_change_without_a_list_of_actions_is_named_by_its_address(actions: Any) -> None:
    given = item()
    given["change"]["actions"] = actions
    with pytest.raises(ConfigError) as raised:
        read(given)
    assert str(raised.value) == f"{WHERE} (module.grants.terraform_data.x) has no list of actions"


def test_an_index_is_read_whatever_the_address_says() -> None:
    """An instance of a counted resource is never a binding lapse renders, even when its
    address reads like one."""
    given = item(type="google_project_iam_member", name="x", index=0)
    given["address"] = "module.grants.google_project_iam_member.x"
    (found,) = read(given)
    assert found.indexed is True
    assert found.is_rendered_binding is False
    (plain,) = read({key: value for key, value in given.items() if key != "index"})
    assert (plain.indexed, plain.is_rendered_binding) == (False, True)


@pytest.mark.parametrize("after", [None, [], "values", 1])
def test_values_that_are_not_an_object_are_no_values(after: Any, tmp_path: Path) -> None:
    requests = validate_repo(Repo.at(make_repo(tmp_path, with_requests=True)), now=None).requests
    block = blocks(requests[0])[0]
    given = binding(block)
    given["change"]["after"] = after
    (found,) = read(given)
    assert found.after is None
    assert differences(found.after, block) == ["the plan gives no values for it"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[]", "plan.json: not the JSON of a plan: `format_version` is missing"),
        ('"1.2"', "plan.json: not the JSON of a plan: `format_version` is missing"),
        (
            '{"format_version": 1.2}',
            "plan.json: not the JSON of a plan: `format_version` is missing",
        ),
        ('{"format_version": "2.0"}', "plan.json: plan format 2.0 is not 1.x"),
        (
            '{"format_version": "1.2", "resource_changes": {}}',
            "plan.json: `resource_changes` is not a list",
        ),
        (
            '{"format_version": "1.2", "resource_changes": [{}]}',
            "plan.json: resource_changes[0] has no `change` object",
        ),
    ],
)
def test_a_file_that_is_not_a_plan_says_what_it_lacks(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        read_plan(text, source="plan.json")
    assert str(raised.value) == said


def test_text_that_is_not_json_says_what_to_give() -> None:
    with pytest.raises(ConfigError) as raised:
        read_plan("{", source="plan.json")
    said = str(raised.value)
    assert said.startswith("plan.json: not JSON (Expecting property name enclosed in double quotes")
    assert said.endswith("); give `terraform show -json tfplan`")


def test_a_plan_without_changes_reads_as_none() -> None:
    assert read_plan('{"format_version": "1.2"}', source="plan.json") == []


def test_a_change_is_named_by_its_place_among_the_changes() -> None:
    with pytest.raises(ConfigError) as raised:
        read(item(), item(), item(change=None))
    assert str(raised.value) == "plan.json: resource_changes[2] has no `change` object"


def test_no_op_changes_are_dropped_and_every_other_is_kept() -> None:
    kept = item(name="kept")
    kept["change"]["actions"] = ["no-op", "create"]
    dropped = item(name="dropped")
    dropped["change"]["actions"] = ["no-op"]
    assert [c.name for c in read(dropped, kept, item())] == ["kept", "x"]


def test_a_module_address_that_is_not_text_is_no_module() -> None:
    (found,) = read(item(module_address=["module.grants"]))
    assert found.module is None
