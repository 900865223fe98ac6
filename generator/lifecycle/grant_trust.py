"""Which files in terraform/grants/ drift may believe: only what `lapse render` would write.

Terraform applies every `*.tf` and `*.tf.json` file of the grants module, whoever wrote it.
Drift therefore takes the expected grants from rendering the requests, never from the files,
and reports each file that render would not write byte for byte: a hand-edited window, a
hand-written grant, another file type, a symlink. `_module.tf` is the module's own
configuration and may declare no resource at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from generator.core.findings import FindingKind
from generator.lifecycle.drift import DriftFinding
from generator.terraform.hcl import HclError, load

MODULE_FILE = "_module.tf"


def untrusted_grant_files(
    grants_dir: Path, rendered: Mapping[str, str], *, label: str
) -> list[DriftFinding]:
    """One HIGH finding per file under `grants_dir` that render does not account for.

    `rendered` maps file names to the text `lapse render` writes; `label` is how the folder
    is named in messages (`terraform/grants`).
    """
    if not grants_dir.is_dir():
        return []
    findings = []
    for path in sorted(grants_dir.iterdir()):
        why = _distrust(path, rendered)
        if why:
            findings.append(_finding(f"{label}/{path.name}", why))
    return findings


def _distrust(path: Path, rendered: Mapping[str, str]) -> str:
    """Why `path` cannot be believed; "" when render writes exactly it."""
    if path.is_symlink():
        return "is a symbolic link; render writes regular files only"
    if path.is_dir():
        return ""  # Terraform does not read subfolders of a module
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if path.name == MODULE_FILE:
        return _module_problem(data)
    expected = rendered.get(path.name)
    if expected is None:
        return "is not written by `lapse render` from any valid request"
    if data != expected.encode("utf-8"):
        return "differs from what `lapse render` writes for its request"
    return ""


def _module_problem(data: bytes) -> str:
    try:
        tree = load(data.decode("utf-8"), source=MODULE_FILE)
    except (UnicodeDecodeError, HclError):
        return "cannot be parsed"
    extra = sorted(key for key in tree if key not in ("terraform", "__comments__"))
    return f"declares {', '.join(extra)}; it may hold only the terraform block" if extra else ""


def _finding(where: str, why: str) -> DriftFinding:
    kind = FindingKind.UNTRUSTED_GRANT_FILE
    return DriftFinding(
        kind.severity,
        "file",
        where,
        "",
        "",
        "",
        f"{where} {why}: Terraform applies it, yet no approved request accounts for it; "
        "the grants expected live are taken from the requests instead",
        kind.id,
    )
