"""The render self-check and description cleaning, held against one-line bugs.

The self-check is the last word before Terraform text is written: it must refuse anything the
template could add beyond what was intended, not only changed values.
"""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest

from generator.terraform import render
from generator.terraform.render import RenderError, render_request, self_check
from tests.unit.test_render import make_request

EXTRA_RESOURCE = (
    '\nresource "google_project_iam_member" "extra" {\n'
    '  project = "pci-prod-payments"\n  role    = "roles/owner"\n'
    '  member  = "user:mallory@example.com"\n}\n'
)


def honest() -> str:
    return render_request(make_request())


def test_the_honest_text_passes() -> None:
    self_check(make_request(), honest())  # the baseline every mutation below departs from


def test_self_check_refuses_an_extra_resource() -> None:
    with pytest.raises(RenderError, match=r"rendered resources .* differ from intended"):
        self_check(make_request(), honest() + EXTRA_RESOURCE)


def test_self_check_refuses_a_block_hidden_behind_one_at_the_same_address() -> None:
    text = honest()
    start = text.index("resource ")
    honest_block = text[start:]
    lying = honest_block.replace("roles/cloudsql.client", "roles/owner")
    with pytest.raises(RenderError) as caught:
        self_check(make_request(), text[:start] + lying + "\n" + honest_block)
    address = "google_project_iam_member.inc-4512-batch_98abafac"
    assert str(caught.value) == (
        f"requests/pci-prod/inc-4512-batch.yaml: rendered resources {[address, address]} "
        "repeat an address"
    )


def test_a_request_holding_one_grant_twice_is_refused_not_rendered() -> None:
    # LAPSE230 refuses it at validation; render must not write the file Terraform refuses.
    request = make_request()
    twice = dataclasses.replace(request, grants=request.grants * 2)
    with pytest.raises(RenderError, match="repeat an address"):
        render.render_all([twice])


def test_self_check_refuses_a_missing_resource() -> None:
    header = honest().split("\nresource", 1)[0] + "\n"
    with pytest.raises(RenderError, match="differ from intended"):
        self_check(make_request(), header)


def test_self_check_refuses_an_extra_key_inside_the_condition() -> None:
    lying = honest().replace("    expression ", '    extra       = "x"\n    expression ')
    with pytest.raises(RenderError, match="reads back other values than intended"):
        self_check(make_request(), lying)


def test_self_check_refuses_a_missing_key_inside_the_condition() -> None:
    text = honest()
    lines = [line for line in text.splitlines() if not line.strip().startswith("title")]
    with pytest.raises(RenderError):
        self_check(make_request(), "\n".join(lines) + "\n")


def test_self_check_refuses_two_condition_blocks() -> None:
    text = honest()
    start = text.index("  condition {")
    end = text.index("  }\n", start) + len("  }\n")
    doubled = text[:end] + "\n" + text[start:end] + text[end:]
    with pytest.raises(RenderError, match="reads back other values than intended"):
        self_check(make_request(), doubled)


def test_self_check_refuses_a_condition_written_as_an_attribute() -> None:
    text = honest()
    start = text.index("  condition {")
    end = text.index("  }\n", start) + len("  }\n")
    for value in ("true", "1", '"x"'):
        lying = text[:start] + f"  condition = {value}\n" + text[end:]
        with pytest.raises(RenderError, match="reads back other values than intended"):
            self_check(make_request(), lying)


def test_self_check_refuses_a_missing_argument() -> None:
    lines = [line for line in honest().splitlines() if not line.strip().startswith("member")]
    with pytest.raises(RenderError):
        self_check(make_request(), "\n".join(lines) + "\n")


def test_self_check_refuses_a_changed_expression() -> None:
    lying = honest().replace("2026-12-01T13:00:00Z", "2036-12-01T13:00:00Z")
    with pytest.raises(RenderError, match="reads back other values than intended"):
        self_check(make_request(), lying)


def test_self_check_refuses_a_value_that_is_not_a_literal() -> None:
    text = honest().replace('  role    = "roles/cloudsql.client"', "  role    = var.role")
    with pytest.raises(RenderError) as caught:
        self_check(make_request(), text)
    assert str(caught.value) == (
        "google_project_iam_member.inc-4512-batch_98abafac.role: "
        "not a quoted string literal: '${var.role}'"
    )


def test_self_check_error_names_the_file_when_unparseable() -> None:
    with pytest.raises(RenderError, match=r"requests/pci-prod/inc-4512-batch\.yaml"):
        self_check(make_request(), honest() + "resource {")


# Bidi overrides (U+202E), isolates (U+2066..U+2069), zero-width and other format characters
# can make a description read differently from what it holds.
HIDDEN = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200b", "\u200e", "\ufeff", "\u00ad"]


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_format_characters_are_removed_from_the_description(hidden: str) -> None:
    assert unicodedata.category(hidden) == "Cf"
    text = render.description(make_request(reason=f"pay{hidden}out{hidden}"))
    assert hidden not in text
    assert text == "INC-4512: pay out"


def test_line_and_paragraph_separators_and_odd_spaces_become_one_space() -> None:
    text = render.description(make_request(reason="a\u2028b\u2029c\u00a0d\u3000e  \t f\x00g"))
    assert text == "INC-4512: a b c d e f g"


def test_the_description_keeps_letters_marks_and_symbols() -> None:
    reason = "café 中文 🔐 e\u0301 100% ${x}"
    assert render.description(make_request(reason=reason)) == f"INC-4512: {reason}"


def test_the_description_limit_is_exact() -> None:
    fits = "x" * (render.DESCRIPTION_LIMIT - len("INC-4512: "))
    assert render.description(make_request(reason=fits)) == f"INC-4512: {fits}"
    cut = render.description(make_request(reason=fits + "y"))
    assert len(cut) == render.DESCRIPTION_LIMIT
    assert cut == f"INC-4512: {fits[:-1]}…"


def test_ascii_control_characters_become_one_space() -> None:
    text = render.description(make_request(reason="a\x00b\x1bc\x7fd\x07"))
    assert text == "INC-4512: a b c d"


def test_a_description_cut_at_a_space_does_not_end_in_one() -> None:
    words = "x" * (render.DESCRIPTION_LIMIT - len("INC-4512: ") - 2) + " yz"
    cut = render.description(make_request(reason=words))
    assert cut == f"INC-4512: {words[:-3]}…"


def test_an_emergency_grant_file_is_named_for_the_emergency_approvers() -> None:
    request = make_request()
    assert render.grant_file_name(request) == "pci-prod.inc-4512-batch.tf"
    emergency = dataclasses.replace(request, emergency=True)
    assert render.grant_file_name(emergency) == "pci-prod.emergency.inc-4512-batch.tf"


@pytest.mark.parametrize(
    ("request_id", "prefix"), [("9a-batch", "_9a-batch_"), ("a9-batch", "a9-batch_")]
)
def test_a_name_gets_an_underscore_only_when_the_id_starts_with_a_digit(
    request_id: str, prefix: str
) -> None:
    text = render_request(make_request(request_id=request_id))
    assert f'"google_project_iam_member" "{prefix}' in text


def test_unreadable_literals_are_refused_with_what_is_wrong() -> None:
    from generator.terraform.hcl import HclError, decode_string

    with pytest.raises(HclError, match="not a quoted string literal"):
        decode_string("bare")
    with pytest.raises(HclError, match=r"unknown escape sequence \\q"):
        decode_string('"\\q"')


@pytest.mark.parametrize(
    ("literal", "text"),
    [
        ('"\\U0001F510 \\U000000e9"', "🔐 é"),  # eight hex digits: beyond what \u reaches
        ('"\\u00e9\\u0024"', "é$"),
        ('"$${a} %%{b}"', "${a} %{b}"),  # Terraform's escapes of a template sequence
        ('"\\n\\r\\t\\"\\\\"', '\n\r\t"\\'),
        ('""', ""),  # the empty string
    ],
)
def test_literals_and_every_escape_of_the_hcl_spec_are_decoded(literal: str, text: str) -> None:
    from generator.terraform.hcl import decode_string

    assert decode_string(literal) == text


GRANTS_MODULES = (
    'module "other" {\n  source     = "./other"\n  depends_on = [google_storage_bucket.x]\n}\n'
    'module "grants" {\n  source     = "./grants"\n'
    "  depends_on = [google_project_iam_audit_config.a, google_folder_iam_audit_config.b]\n}\n"
)


def test_a_modules_dependencies_are_read_from_that_module_only() -> None:
    from generator.terraform.hcl import load, module_depends_on

    tree = load(GRANTS_MODULES, source="grants.tf")
    assert module_depends_on(tree, "grants") == (
        "google_project_iam_audit_config.a",
        "google_folder_iam_audit_config.b",
    )
    assert module_depends_on(tree, "absent") is None


@pytest.mark.parametrize("line", ["", '  depends_on = "google_storage_bucket.x"\n'])
def test_a_module_without_a_list_of_dependencies_depends_on_nothing(line: str) -> None:
    from generator.terraform.hcl import load, module_depends_on

    tree = load(f'module "grants" {{\n  source = "./grants"\n{line}}}\n', source="grants.tf")
    assert module_depends_on(tree, "grants") == ()


def test_a_resource_is_found_at_the_line_of_its_header() -> None:
    from generator.terraform.hcl import Resource, line_of

    text = '\n# audit\nresource "google_project_iam_audit_config" "a" {\n  project = "p"\n}\n'
    assert line_of(text, Resource("google_project_iam_audit_config", "a", {})) == 3
    assert line_of(text, Resource("google_project_iam_audit_config", "b", {})) == 1


def test_labels_are_read_quoted_or_bare() -> None:
    from generator.terraform.hcl import parse

    text = 'resource google_storage_bucket_iam_member bare {\n}\nresource "t" "" {\n}\n'
    found = [(r.type, r.name) for r in parse(text, source="grants.tf")]
    assert found == [("google_storage_bucket_iam_member", "bare"), ("t", "")]


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("bare", "value: not a quoted string literal: 'bare'"),
        ('"open', "value: not a quoted string literal: '\"open'"),
        ('close"', "value: not a quoted string literal: 'close\"'"),
        ('"', "value: not a quoted string literal: '\"'"),
        ("x" * 70, f"value: not a quoted string literal: {'x' * 60!r}"),
        ('"${var.x}"', "value: holds a template sequence, not a literal"),
        ('"%{ if true }x%{ endif }"', "value: holds a template sequence, not a literal"),
        ('"\\u0024${x}"', "value: holds a template sequence, not a literal"),
    ],
)
def test_what_is_not_a_plain_literal_is_refused_in_words(literal: str, message: str) -> None:
    from generator.terraform.hcl import HclError, decode_string

    with pytest.raises(HclError) as caught:
        decode_string(literal)
    assert str(caught.value) == message


def test_a_missing_argument_is_named_with_its_resource() -> None:
    from generator.terraform.hcl import HclError, Resource

    with pytest.raises(HclError) as caught:
        Resource("google_project_iam_member", "a", {"member": '"user:a@example.com"'}).string(
            "role"
        )
    assert str(caught.value) == "google_project_iam_member.a: role is missing"
