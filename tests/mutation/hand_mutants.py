"""One-line bugs in the code that decides or proves access, each with the test that must fail.

`python bench/mutation.py --hand` applies each mutant to a copy of the repository and runs its
tests there: every one must fail. tests/unit/test_mutation_tool.py keeps the list current (each
`old` text still occurs exactly once, each named test still exists).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HandMutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]  # pytest node ids (a test function, every parameter of it)


APPROVALS = "generator/github/approvals.py"
APPROVAL_TESTS = "tests/unit/test_approvals_controls.py::"
RENDER = "generator/terraform/render.py"
RENDER_TESTS = "tests/unit/test_render_controls.py::"
RULE_TESTS = "tests/unit/test_rules_boundaries.py::"
CODEOWNERS = "generator/github/codeowners.py"
CODEOWNERS_TESTS = "tests/unit/test_codeowners_controls.py::"
ANALYSIS = "generator/review/analysis.py"
TALLY = "generator/review/tally.py"
VERDICTS = "generator/review/verdicts.py"
ANALYSIS_TESTS = "tests/unit/review/test_analysis_controls.py::"


VERIFY_PLAN = "generator/lifecycle/verify_plan.py"
PLAN_TESTS = "tests/unit/test_verify_plan_controls.py::"
TREE_TESTS = "tests/unit/test_tree_controls.py::"
LAST_APPLY_TESTS = "tests/unit/test_last_apply.py::"

PLAN_MUTANTS = (
    HandMutant(
        "a plan holding a rendered binding skips the configuration check",
        VERIFY_PLAN,
        "all(c.is_rendered_binding for c in changes)",
        "any(c.is_rendered_binding for c in changes)",
        (PLAN_TESTS + "test_a_rendered_binding_in_the_plan_does_not_skip_the_configuration_check",),
    ),
    HandMutant(
        "a configuration pull request without reviews counts as approved",
        "generator/github/plan_approvals.py",
        "    if accepted:",
        "    if accepted or not rejected:",
        (PLAN_TESTS + "test_a_configuration_pull_request_without_reviews_is_refused",),
    ),
    HandMutant(
        "only the newest configuration commit is checked",
        VERIFY_PLAN,
        "commits=facts.configuration_commits)",
        "commits=facts.configuration_commits[:1])",
        (PLAN_TESTS + "test_every_configuration_commit_since_the_last_apply_is_checked",),
    ),
    HandMutant(
        "an approval where the request was absent or unreadable counts",
        "generator/github/plan_approvals.py",
        "        except FileUnreadable:\n            return False",
        "        except FileUnreadable:\n            return True",
        (PLAN_TESTS + "test_an_approval_where_the_request_was_not_readable_does_not_count",),
    ),
    HandMutant(
        "a request merged with a rule change passes verify-plan",
        "generator/github/plan_approvals.py",
        "reasons = (*problems, *verdict.reasons)",
        "reasons = verdict.reasons",
        (PLAN_TESTS + "test_a_request_merged_with_a_rule_change_is_refused",),
    ),
    HandMutant(
        "a review without commit_id approves the file at the default branch",
        "generator/github/plan_approvals.py",
        'if not sha:\n            return "approved no known commit"',
        "if False:\n            pass",
        (PLAN_TESTS + "test_a_request_approval_without_a_commit_does_not_count",),
    ),
    HandMutant(
        "_module.tf commits are not configuration",
        VERIFY_PLAN,
        ' and name != "_module.tf")',
        ")",
        (PLAN_TESTS + "test_hand_written_terraform_in_the_grants_folder_is_configuration",),
    ),
    HandMutant(
        "a module nested in the grants module is configuration",
        "generator/terraform/plan.py",
        'or (self.module or "").startswith(inside)\n            or self.address.startswith(inside)',
        'or self.address.startswith(f"{GRANTS_MODULE}.")',
        (PLAN_TESTS + "test_a_resource_in_a_module_inside_the_grants_module_is_refused",),
    ),
    HandMutant(
        "a folder lapse reads replaced by a symlink is not reported",
        "generator/core/repo.py",
        "if (self.root / name).is_symlink():\n                found.append(name)",
        "if False:\n                pass",
        (TREE_TESTS + "test_a_folder_lapse_reads_replaced_by_a_symlink_is_reported",),
    ),
    HandMutant(
        "a project reached through a bucket is in no target",
        "generator/checks/rules/hierarchy.py",
        "resource_kinds.home_project(kind.key, name, target.bucket_projects)",
        "resource_kinds.home_project(kind.key, name, {})",
        (TREE_TESTS + "test_a_project_reached_through_a_bucket_of_another_target_is_reported",),
    ),
    HandMutant(
        "`..` above the repository root is dropped",
        "generator/terraform/configuration.py",
        "            if not parts:\n                return False\n            parts.pop()",
        "            if parts:\n                parts.pop()",
        (TREE_TESTS + "test_a_module_source_above_the_repository_is_refused",),
    ),
    HandMutant(
        "relays are followed in one pass",
        "generator/review/attribution.py",
        "                grown = True\n    return found",
        "                grown = False\n    return found",
        (
            "tests/unit/review/test_attribution.py::"
            "test_relays_read_newest_first_still_reach_the_person",
        ),
    ),
    HandMutant(
        "a baseline from a dispatched run is taken",
        "generator/github/last_apply.py",
        'if run.get("event") != "push":',
        "if False:",
        (LAST_APPLY_TESTS + "test_a_record_not_written_by_an_apply_of_a_push_to_main_is_refused",),
    ),
    HandMutant(
        "a baseline off main's first-parent line is taken",
        "generator/core/git.py",
        'git(root, "rev-list", "--first-parent", "HEAD")',
        'git(root, "rev-list", "HEAD")',
        (LAST_APPLY_TESTS + "test_a_commit_off_mains_first_parent_line_is_refused",),
    ),
)

MUTANTS = (
    *PLAN_MUTANTS,
    HandMutant(
        "a modified request needs no approval",
        APPROVALS,
        'item.status not in ("removed", "unchanged")',
        'item.status not in ("removed", "unchanged", "modified")',
        (APPROVAL_TESTS + "test_every_status_that_brings_request_bytes_needs_an_approval",),
    ),
    HandMutant(
        "an author outside policy.people is accepted",
        APPROVALS,
        'return [f"pull request author @{author} is not in policy.people"]',
        "return []",
        (APPROVAL_TESTS + "test_author_outside_policy_people_is_refused",),
    ),
    HandMutant(
        "any merged pull request containing the commit speaks for the merge",
        APPROVALS,
        'p.merged and (p.merge_commit_sha or "").lower() == wanted',
        "p.merged",
        (
            APPROVAL_TESTS
            + "test_a_merged_pull_that_only_contains_the_commit_does_not_speak_for_it",
        ),
    ),
    HandMutant(
        "CODEOWNERS and schemas/ may change together with requests",
        APPROVALS,
        'RULE_PATHS = ("policy/", "schemas/", ".github/CODEOWNERS")',
        'RULE_PATHS = ("policy/",)',
        (APPROVAL_TESTS + "test_rule_files_changed_with_requests_are_refused",),
    ),
    HandMutant(
        "a request file that is not a mapping crashes",
        APPROVALS,
        'requester = data.get("requester") if isinstance(data, dict) else None',
        'requester = data.get("requester")',
        (APPROVAL_TESTS + "test_a_request_without_a_usable_requester_is_refused_not_a_crash",),
    ),
    HandMutant(
        "a request without a requester crashes",
        APPROVALS,
        "if not isinstance(requester, str) or not requester.strip():",
        "if requester == '':",
        (APPROVAL_TESTS + "test_a_request_without_a_usable_requester_is_refused_not_a_crash",),
    ),
    HandMutant(
        "a request for an unknown target crashes",
        APPROVALS,
        "found = self.policy.targets.get(target)",
        "found = self.policy.targets[target]",
        (APPROVAL_TESTS + "test_a_request_for_an_unknown_target_is_refused_not_a_crash",),
    ),
    HandMutant(
        "the evidence's requester key is renamed",
        APPROVALS,
        '"requester": request.requester,',
        '"requested_by": request.requester,',
        (APPROVAL_TESTS + "test_evidence_keys_the_apply_records",),
    ),
    HandMutant(
        "the self-check accepts an extra resource",
        RENDER,
        "if set(parsed) != set(intended):",
        "if not set(intended) <= set(parsed):",
        (RENDER_TESTS + "test_self_check_refuses_an_extra_resource",),
    ),
    HandMutant(
        "the self-check accepts an extra key inside condition",
        RENDER,
        "if _keys(conditions[0]) != set(condition):",
        "if not set(condition) <= _keys(conditions[0]):",
        (RENDER_TESTS + "test_self_check_refuses_an_extra_key_inside_the_condition",),
    ),
    HandMutant(
        "the self-check accepts two condition blocks",
        RENDER,
        "or len(conditions) != 1",
        "or len(conditions) < 1",
        (RENDER_TESTS + "test_self_check_refuses_two_condition_blocks",),
    ),
    HandMutant(
        "bidi and other format characters are kept in the description",
        RENDER,
        'unicodedata.category(c)[0] not in "CZ"',
        'unicodedata.category(c) not in ("Cc", "Zl", "Zp", "Zs")',
        (RENDER_TESTS + "test_format_characters_are_removed_from_the_description",),
    ),
    HandMutant(
        "a CEL result that is not a boolean counts as its truth value",
        "generator/terraform/conditions.py",
        "if not isinstance(result, celtypes.BoolType):",
        "if isinstance(result, celtypes.StringType):",
        (
            "tests/unit/test_conditions_controls.py::test_a_condition_that_is_not_a_boolean_is_an_error",
        ),
    ),
    HandMutant(
        "max_duration can be exceeded by 1%",
        "generator/checks/rules/windows.py",
        "if length > ctx.target.max_duration:",
        "if length > ctx.target.max_duration * 1.01:",
        (RULE_TESTS + "test_max_duration_is_exact",),
    ),
    HandMutant(
        "max_lead_time can be exceeded by 1%",
        "generator/checks/rules/windows.py",
        "if starts - ctx.now > ctx.target.max_lead_time:",
        "if starts - ctx.now > ctx.target.max_lead_time * 1.01:",
        (RULE_TESTS + "test_max_lead_time_is_exact",),
    ),
    HandMutant(
        "expires == now is accepted",
        "generator/checks/rules/windows.py",
        "ctx.request.window.expires > ctx.now:",
        "ctx.request.window.expires >= ctx.now:",
        (RULE_TESTS + "test_expires_must_be_strictly_after_now",),
    ),
    HandMutant(
        "the domain allow-list is a suffix match",
        "generator/checks/rules/principals.py",
        "if domain not in ctx.target.domains:",
        "if not any(domain.endswith(d) for d in ctx.target.domains):",
        (RULE_TESTS + "test_the_domain_allow_list_is_an_exact_match",),
    ),
    HandMutant(
        "a later line that removes a folder's owners is not reported",
        CODEOWNERS,
        'if not line or line.startswith("#"):',
        'if not line or line.startswith("#") or len(line.split()) < 2:',
        (CODEOWNERS_TESTS + "test_a_later_line_that_removes_a_folders_owners_is_reported",),
    ),
    HandMutant(
        "a line after # END lapse is deleted",
        CODEOWNERS,
        "after = lines[ends[-1] + 1 :]",
        "after = lines[ends[-1] + 2 :]",
        (CODEOWNERS_TESTS + "test_lines_after_the_end_marker_are_kept",),
    ),
    HandMutant(
        "a file without a trailing newline runs into the section",
        CODEOWNERS,
        'prefix = current if not current or current.endswith("\\n") else current + "\\n"',
        "prefix = current",
        (
            CODEOWNERS_TESTS
            + "test_a_file_without_a_trailing_newline_gets_the_section_on_its_own_lines",
        ),
    ),
    HandMutant(
        "an empty file crashes",
        CODEOWNERS,
        'prefix = current if not current or current.endswith("\\n") else current + "\\n"',
        'prefix = current if current[-1] == "\\n" else current + "\\n"',
        (CODEOWNERS_TESTS + "test_an_empty_file_is_only_the_section",),
    ),
    HandMutant(
        "a different archive file appearing after planning is kept and the request deleted",
        "generator/lifecycle/expire.py",
        "if target.read_bytes() != item.content:",
        "if False:",
        (
            "tests/acceptance/test_expire_controls.py::"
            "test_a_different_archive_file_appearing_after_planning_stops_the_run",
        ),
    ),
    HandMutant(
        "an unmerged pull request can be named as a request's source",
        "generator/github/request_pulls.py",
        "merged = [pull.number for pull in pulls if pull.merged]",
        "merged = [pull.number for pull in pulls]",
        ("tests/acceptance/test_expire_controls.py::test_the_merged_pull_is_named_as_the_source",),
    ),
    HandMutant(
        # The tally takes one event at a time, so no skip can end the loop any more (the old
        # `continue` -> `break`); the control left is the skip itself.
        "an event before the window start is counted in it",
        TALLY,
        "if start is not None and event.timestamp < start:\n            return",
        "if start is not None and event.timestamp < start and False:\n            return",
        (ANALYSIS_TESTS + "test_an_event_before_the_start_does_not_hide_later_events",),
    ),
    HandMutant(
        "SetIAMPolicy is matched case-sensitively",
        VERDICTS,
        "method.lower().endswith(_SET_IAM_POLICY)",
        'method.endswith("SetIamPolicy")',
        (ANALYSIS_TESTS + "test_every_spelling_of_a_policy_change_or_key_is_critical",),
    ),
    HandMutant(
        "a status-7 denial without authorizationInfo is not reported",
        VERDICTS,
        "if not denied and event.status_code == PERMISSION_DENIED:",
        "if False:",
        (ANALYSIS_TESTS + "test_a_status_7_denial_without_authorization_info_is_reported",),
    ),
    HandMutant(
        "an entry without authorizationInfo skips the coverage check",
        VERDICTS,
        "reason = _resource_reason(subject, event)",
        'reason = ""',
        (
            ANALYSIS_TESTS
            + "test_an_entry_without_authorization_info_outside_the_grant_is_unexplained",
        ),
    ),
    HandMutant(
        "an action whose permission cannot be told passes as explained",
        VERDICTS,
        'yield "", event.resource_name, reason or UNVERIFIABLE',
        'yield "", event.resource_name, reason',
        (
            "tests/unit/review/test_whole_chain.py::"
            "test_an_action_whose_permission_cannot_be_told_is_unverifiable",
        ),
    ),
    HandMutant(
        "the end of the grace period still counts as grace",
        TALLY,
        "Phase.GRACE if at < expires + grace else Phase.AFTER",
        "Phase.GRACE if at <= expires + grace else Phase.AFTER",
        (ANALYSIS_TESTS + "test_the_grace_period_is_half_open",),
    ),
    HandMutant(
        "a failed policy change that was not denied is CRITICAL persistence",
        VERDICTS,
        "return event.status_code == 0 and all(granted",
        "return event.status_code != PERMISSION_DENIED and all(granted",
        (ANALYSIS_TESTS + "test_a_failed_policy_change_that_was_not_denied_is_not_persistence",),
    ),
    HandMutant(
        "an inactive binding reports time left",
        "generator/terraform/conditions.py",
        "if not self.active or self.expires is None:",
        "if not self.active and self.expires is None:",
        ("tests/unit/test_conditions_controls.py::test_an_inactive_binding_has_no_time_left",),
    ),
    HandMutant(
        "a local expiry leaves out-of-date grants unwritten",
        "generator/lifecycle/expire.py",
        'if not path.startswith("archive/"):',
        'if path.startswith("archive/"):',
        (
            "tests/acceptance/test_expire_controls.py::"
            "test_out_of_date_grants_of_remaining_requests_are_rewritten_in_the_commit",
        ),
    ),
    HandMutant(
        "a later edit's pull request is named as the request's source",
        "generator/github/request_pulls.py",
        'git(root, "log", "--diff-filter=A", "--format=%H", "--", path)',
        'git(root, "log", "--format=%H", "--", path)',
        (
            "tests/acceptance/test_expire_controls.py::"
            "test_the_source_is_the_pull_that_added_the_request_not_a_later_edit",
        ),
    ),
    HandMutant(
        "an expired request without a grants file crashes the plan",
        "generator/lifecycle/expire.py",
        "if grants_path in grants and grants[grants_path] is None",
        "if grants_path in grants or grants[grants_path] is None",
        (
            "tests/acceptance/test_expire_controls.py::"
            "test_an_expired_request_without_a_grants_file_is_still_archived",
        ),
    ),
    HandMutant(
        "the expiry pull request is looked up without its branch",
        "generator/github/client.py",
        'self._repo.get_pulls(state="open", head=f"{self._owner}:{branch}", base=base)',
        'self._repo.get_pulls(state="open", base=base)',
        (
            "tests/unit/test_expire.py::test_other_pull_requests_are_never_taken_for_the_expiry_pull",
        ),
    ),
)
