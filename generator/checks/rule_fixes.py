"""What to do about each rule's problem, for `lapse explain`: one entry per registered rule.

A test keeps this complete, so a new rule cannot ship without saying how to satisfy it.
"""

from __future__ import annotations

FIXES: dict[str, str] = {
    "LAPSE101": "Fix the YAML syntax at the line shown (an unclosed quote, a stray colon, "
    "bad indentation); `lapse new` writes a well-formed file to start from.",
    "LAPSE102": "Save the file as UTF-8 and remove control characters (often pasted from a "
    "terminal or a word processor).",
    "LAPSE103": "A request is a few lines: remove what does not belong in it.",
    "LAPSE104": "Indent with spaces; configure the editor to insert spaces for YAML files.",
    "LAPSE105": "Keep one of the two keys: YAML would silently keep the last one.",
    "LAPSE106": 'Quote the key (`"on": ...`) or rename it; keys are plain strings.',
    "LAPSE107": "Write each value out where it applies instead of `&anchor` / `*alias` / `<<`.",
    "LAPSE108": "Remove the `!tag`; write the value as plain YAML.",
    "LAPSE109": "Keep one document per file: remove the extra `---` and split the requests.",
    "LAPSE110": "Write the request as keys at the top level (requester, reason, ...), not a list.",
    "LAPSE111": "Flatten the structure; requests and policies are shallow by design.",
    "LAPSE112": "Write the file as `lapse new` does: each key unquoted, each top-level key at the "
    "first column of its own line, and a long value on one line (or indented under its key), "
    "so that what reviewers read in the diff is what lapse reads.",
    "LAPSE115": "Restore the report from git, or delete it: the next `lapse review` reviews "
    "the grant again and writes its report anew.",
    "LAPSE120": "Follow the schema under schemas/: the message names the key and what it "
    "expects; the `# yaml-language-server` line gives editors completion.",
    "LAPSE130": "Move the file to requests/<target>/<id>.yaml (an emergency: "
    "requests/<target>/emergency/<id>.yaml), with the .yaml extension.",
    "LAPSE131": "Put the request in the folder of a target the policy defines (see "
    "policy/policy.yaml `targets`).",
    "LAPSE132": "Rename the file: 3-63 lowercase letters, digits or dashes, e.g. "
    "inc-4512-settlement-batch.yaml.",
    "LAPSE133": "Choose a new id (file name): ids are never reused across requests/ and archive/.",
    "LAPSE134": "Move the archived file to archive/<target>/[emergency/]<YYYY-MM>/<id>.yaml, "
    "YYYY-MM being the month (UTC) of its `expires`; `lapse expire` files them so.",
    "LAPSE140": "Replace the symlink with the file itself: a link can point reviewers at one "
    "file and Terraform at another.",
    "LAPSE141": "Remove the file from terraform/grants/: it holds only _module.tf and what "
    "`lapse render` writes; put configuration elsewhere under terraform/.",
    "LAPSE142": "Run `lapse render` and commit terraform/grants/ with the requests.",
    "LAPSE150": "Restore archive/ as it is on the base branch (`git checkout BASE -- archive/`): "
    "requests reach it only through `lapse expire` or `lapse withdraw`, which move a request's "
    "bytes unchanged to the month of its `expires`, in the same commit that removes it.",
    "LAPSE151": "Restore the report as it is on the base branch (`git checkout BASE -- "
    "reports/`): a merged report is a sign-off; add a new report instead of changing one.",
    "LAPSE201": "Use your email as listed under `people` in policy/policy.yaml; to be added, "
    "ask the security owners in a separate change.",
    "LAPSE202": "Request with an email in one of the target's allowed domains.",
    "LAPSE203": "Request access for yourself as a person; service accounts, groups and "
    "domains are never grantees.",
    "LAPSE210": "Ask for a predefined role that fits the task (e.g. roles/cloudsql.client).",
    "LAPSE211": "Choose one of the roles the target allows (the hint lists them); to allow "
    "another, change the policy in a security-reviewed pull request.",
    "LAPSE220": "Name a resource the target allows (the hint lists them), spelled as there.",
    "LAPSE221": "Ask for access at a level that accepts IAM conditions (e.g. the project).",
    "LAPSE222": "Mark the bucket `uniform_bucket_level_access: required` in the target (and "
    "enforce it on the bucket): object ACLs would grant access no condition ends.",
    "LAPSE230": "Remove the repeated grant.",
    "LAPSE231": "Use a ticket id of the form the target's ticket_pattern requires, e.g. INC-4512.",
    "LAPSE232": "Explain why this access is needed now, in a sentence or two.",
    "LAPSE240": "Wait for one of your requests to expire, `lapse withdraw` one you no longer "
    "need, or extend an existing request instead of adding one.",
    "LAPSE241": "Wait for `lapse expire` to archive expired requests on that resource.",
    "LAPSE242": "Combine the windows into one request, or wait for older ones to expire.",
    "LAPSE250": "Run `lapse roles sync --role ROLE` and commit policy/roles.lock.json.",
    "LAPSE251": "Ask for a role without permissions that create lasting access (IAM policy, "
    "keys, tokens, deployments), or get a written persistence exception in the policy.",
    "LAPSE252": "Restore policy/roles.lock.json from git, or run `lapse roles sync`.",
    "LAPSE253": "Remove the role from the target, or add a written persistence_exceptions entry.",
    "LAPSE254": "Run `lapse roles sync` so every allowed role is in the lock file.",
    "LAPSE260": "Turn on Data Access audit logs for the service on that project in "
    "terraform/audit_logging.tf first, so the review can see what was done.",
    "LAPSE261": "Remove the requester's exemption from audit logging before granting access.",
    "LAPSE262": "Write audit configs in terraform/ with literal project, service and log types.",
    "LAPSE263": "Add an audit_log_config block for each of ADMIN_READ, DATA_READ and DATA_WRITE "
    "to the audit config the message names.",
    "LAPSE264": "List every audit config in the grants module's depends_on, so logging is on "
    "before any access begins.",
    "LAPSE271": "Add the person's email domain to a target, or correct the email.",
    "LAPSE272": "Give each GitHub login its own email; shared identities defeat attribution.",
    "LAPSE273": "List people only; remove the service account from `people`.",
    "LAPSE274": "Fix the regular expression in the target's ticket_pattern.",
    "LAPSE275": "Remove roles/owner, roles/editor and roles/viewer from the target's roles.",
    "LAPSE276": "Grant folders and organizations only within the target's own hierarchy; move "
    "the resource to the target that owns it.",
    "LAPSE277": "Name every target's hierarchy (its folders or organization) in the policy.",
    "LAPSE278": "List the project under one target only; split access by target, not by copy.",
    "LAPSE280": "Keep only .tf files (and .terraform.lock.hcl) under terraform/; move the rest.",
    "LAPSE281": "Fold the override into the file it overrides: overrides hide changes from review.",
    "LAPSE282": "Remove the provisioner or connection block; Terraform here only manages IAM "
    "and audit configuration.",
    "LAPSE283": "Use Google data sources only, and none that read credentials or secrets.",
    "LAPSE284": "Use a module from a folder inside terraform/, reviewed with the rest.",
    "LAPSE285": "Use the google or google-beta provider only.",
    "LAPSE286": "Use an allowed resource type, or extend the allowlist in the policy in a "
    "security-reviewed change.",
    "LAPSE287": "Fix the HCL syntax at the line shown; `terraform fmt` points at the same place.",
    "LAPSE288": "Keep to terraform, provider, resource, data, module, variable, locals, output "
    "and moved blocks.",
    "LAPSE289": "Write the value into the configuration instead of reading it from a file.",
    "LAPSE290": "Move the file to requests/<target>/ and ask the target's approvers: this "
    "target has no emergency access in policy/policy.yaml.",
    "LAPSE291": "Ask for no longer than the target's emergency.max_duration; a normal request "
    "can follow if the work runs over.",
    "LAPSE292": "Ask only for a role listed under the target's emergency.roles; anything more "
    "is a normal request for the target's approvers.",
    "LAPSE293": "Name the incident that needs the access, matching emergency.ticket_pattern.",
    "LAPSE294": "List under emergency.roles only roles the target itself allows.",
    "LAPSE295": "Make emergency.max_duration no longer than the target's max_duration.",
    "LAPSE296": "Ask the target's approvers with a normal request: you have used the "
    "emergency path as often as the window allows.",
    "LAPSE297": "Ask the target's approvers with a normal request: the target's emergency "
    "path has been used as often as the window allows.",
    "LAPSE298": "Leave starts out so access begins at merge; planned work is a normal "
    "request for the target's approvers.",
    "LAPSE301": "Make expires later than starts.",
    "LAPSE302": "Ask for less time (the target's max_duration); without starts the window "
    "counts from now. A new request can follow if the work runs over.",
    "LAPSE303": "Choose an expires in the future; for a merged request this is information: "
    "`lapse expire` archives it.",
    "LAPSE304": "Request closer to the work: starts within the target's max_lead_time.",
    "LAPSE305": "Write a real instant, RFC 3339 with an offset, e.g. 2026-12-01T09:00:00Z.",
}
