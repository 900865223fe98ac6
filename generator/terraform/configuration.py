"""The whole Terraform configuration under terraform/, read as located blocks.

In: the folder's files. Out: every file Terraform could read, and for each `.tf` file its
blocks and attributes with 1-based line and column (python-hcl2's parse tree carries them;
plain text is read without it, by `plain_hcl`, to the same blocks), so that the configuration
allowlist can point at the line that breaks it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from generator.core import cache, resource_kinds
from generator.core.repo import first_bytes
from generator.terraform import plain_hcl

# The resource types lapse itself writes or relies on: the grants, and the audit configs that
# must cover them. policy/policy.yaml may add more (terraform_resource_types).
AUDIT_CONFIG_TYPES = (
    "google_project_iam_audit_config",
    "google_folder_iam_audit_config",
    "google_organization_iam_audit_config",
)


def lapse_resource_types() -> frozenset[str]:
    """The registered kinds' grant types and the audit configs."""
    return frozenset(
        {*(kind.terraform_type for kind in resource_kinds.kinds()), *AUDIT_CONFIG_TYPES}
    )


LAPSE_RESOURCE_TYPES = lapse_resource_types()  # those of the kinds lapse is built with
# What Terraform and CI leave in the folder, which Terraform never reads as configuration.
LOCAL_STATE = (".terraform",)
LOCAL_FILES = frozenset({"tfplan"})
MAX_NESTING = 32  # blocks inside blocks: IAM and audit configuration nest two or three deep
_PLAIN_STRING = re.compile(r'^"([^"\\$%]*)"$')


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    text: str  # the expression as written
    line: int
    col: int

    @property
    def literal(self) -> str | None:
        """The value when it is a plain string literal, else None."""
        match = _PLAIN_STRING.match(self.text.strip())
        return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class LocatedBlock:
    kind: str
    labels: tuple[str, ...]
    line: int
    col: int
    attributes: tuple[Attribute, ...]
    blocks: tuple[LocatedBlock, ...]

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def walk(self) -> list[LocatedBlock]:
        """This block and every block inside it, in order."""
        return [self, *(inner for block in self.blocks for inner in block.walk())]


@dataclass(frozen=True, slots=True)
class TerraformFile:
    path: str  # relative to the repository
    blocks: tuple[LocatedBlock, ...]
    error: tuple[int, int, str] | None = None  # line, column, why it cannot be read


@dataclass(frozen=True, slots=True)
class Configuration:
    folder: str  # terraform, relative to the repository
    entries: tuple[str, ...]  # every file under it, relative to the repository
    files: tuple[TerraformFile, ...]  # the .tf files, read


def list_configuration(folder: Path, root: Path) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """(every entry, the `.tf` files Terraform reads), relative to `root`, in one walk.

    Entries are files, symlinks (to files or folders, never followed) and anything else that is
    not a folder; the readable files are the regular `.tf` files among them. One `scandir` per
    folder answers every question from the directory entry, without a system call per file.
    """
    found: list[tuple[tuple[str, ...], str, bool]] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(folder, ())]
    while pending:
        here, parts = pending.pop()
        try:
            listed = list(os.scandir(here))
        except OSError:
            continue
        for entry in listed:
            inside = (*parts, entry.name)
            if _local(inside, entry.is_file(follow_symlinks=False)):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), inside))
                continue
            regular_tf = entry.name.endswith(".tf") and entry.is_file(follow_symlinks=False)
            found.append((inside, entry.path, regular_tf))
    found.sort(key=lambda item: item[0])  # the order of sorted paths: part by part
    base = folder.relative_to(root).as_posix()
    named = [("/".join((base, *parts)), path, readable) for parts, path, readable in found]
    entries = tuple(relative for relative, _, _ in named)
    return entries, [(relative, path) for relative, path, readable in named if readable]


CACHE_KIND = "terraform-files"
Read = tuple[str, bytes | OSError]  # a file's path relative to the repository, and its bytes


def read_all(named: list[tuple[str, str]]) -> list[Read]:
    """(relative path, bytes or why not) of each (relative path, file system path).

    Paths stay strings: building a Path per file costs more than reading the file."""
    found: list[Read] = []
    for relative, path in named:
        try:
            found.append((relative, first_bytes(path)))
        except OSError as exc:
            found.append((relative, exc))
    return found


def parse_all(read: list[Read], retain: Collection[str] = ()) -> tuple[TerraformFile, ...]:
    """Every file parsed, reusing what the local cache holds for the same path and bytes.

    Parsing HCL costs far more than reading it, and terraform/grants/ holds a file per request:
    the cache (one table per version of this code and of the parser) keeps validate's cost
    with the files that changed. `retain` names further keys (`cache.digest(path, bytes)`) of
    files not parsed this time whose entries stay. The table is kept a line per file
    (`cache.read_lines`): a run decodes the entries it uses, not the thousands it keeps.
    """
    # With the store off nothing is kept: the code is not hashed for a key no one reads.
    kept_at = cache.folder()
    code = cache.code_digest("generator.terraform", "hcl2", "lark") if kept_at else None
    known = cache.read_lines(CACHE_KIND, code) if code is not None else {}
    kept = {key: known[key] for key in retain if key in known}
    files: list[TerraformFile] = []
    for relative, raw in read:
        if isinstance(raw, OSError):
            files.append(TerraformFile(relative, (), (1, 1, f"cannot read it as UTF-8: {raw}")))
            continue
        key = cache.digest(relative, raw)
        parsed = _thawed(known[key]) if key in known else None
        if parsed is None:
            parsed = _decoded(relative, raw)
            kept[key] = orjson.dumps(_frozen(parsed))
        else:
            kept[key] = known[key]
        files.append(parsed)
    if code is not None and kept != known:
        cache.write_lines(CACHE_KIND, code, kept)
    return tuple(files)


def _decoded(relative: str, raw: bytes) -> TerraformFile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return TerraformFile(relative, (), (1, 1, f"cannot read it as UTF-8: {exc}"))
    return parse_text(relative, text)


def _frozen(item: TerraformFile | LocatedBlock | Attribute) -> Any:
    if isinstance(item, Attribute):
        return [item.name, item.text, item.line, item.col]
    if isinstance(item, LocatedBlock):
        attributes = [_frozen(a) for a in item.attributes]
        inner = [_frozen(b) for b in item.blocks]
        return [item.kind, list(item.labels), item.line, item.col, attributes, inner]
    error = list(item.error) if item.error is not None else None
    return [item.path, [_frozen(b) for b in item.blocks], error]


def _thawed(frozen: bytes) -> TerraformFile | None:
    try:
        path, blocks, error = orjson.loads(frozen)
        found = tuple(_thawed_block(b) for b in blocks)
        why = (int(error[0]), int(error[1]), str(error[2])) if error is not None else None
    except (orjson.JSONDecodeError, TypeError, ValueError, IndexError):
        return None  # an unreadable entry is a miss
    return TerraformFile(str(path), found, why)


def _thawed_block(raw: list[Any]) -> LocatedBlock:
    kind, labels, line, col, attributes, inner = raw
    return LocatedBlock(
        str(kind),
        tuple(map(str, labels)),
        int(line),
        int(col),
        tuple(Attribute(str(n), str(t), int(a), int(b)) for n, t, a, b in attributes),
        tuple(_thawed_block(b) for b in inner),
    )


def _local(parts: tuple[str, ...], regular_file: bool) -> bool:
    """Terraform's own state: the .terraform folder, and the plan file the apply job writes
    (a folder or link of that name is configuration like any other)."""
    return parts[0] in LOCAL_STATE or (len(parts) == 1 and regular_file and parts[0] in LOCAL_FILES)


def parse_text(relative: str, text: str) -> TerraformFile:
    """The file's blocks: read directly when its text is in the plain shape the grants
    template writes (`plain_blocks`) or is other plain Terraform (`plain_hcl`), else parsed
    with python-hcl2. `plain_hcl` reads every grant file too, but `plain_blocks`, made for
    the one shape thousands of files share, reads one in about two thirds of the time."""
    # Imported here: plain_blocks builds this module's values, so it imports this module.
    from generator.terraform import plain_blocks  # noqa: PLC0415

    blocks = plain_blocks.read(text)
    if blocks is not None:
        return TerraformFile(relative, blocks)
    plain = plain_hcl.read(text)
    if plain is not None:
        return TerraformFile(relative, tuple(_plain_block(block) for block in plain.blocks))
    return parse_with_hcl2(relative, text)


def _plain_block(block: plain_hcl.PlainBlock) -> LocatedBlock:
    attributes = tuple(Attribute(a.name, a.text, a.line, a.col) for a in block.attributes)
    inner = tuple(_plain_block(b) for b in block.blocks)
    return LocatedBlock(block.kind, block.labels, block.line, block.col, attributes, inner)


def parse_with_hcl2(relative: str, text: str) -> TerraformFile:
    """The file's blocks as python-hcl2 parses them, or why it cannot."""
    import hcl2  # noqa: PLC0415 - building its parser costs 0.2 s; a warm start never needs it

    try:
        tree = hcl2.parses_to_tree(text)
    except Exception as exc:  # lark raises many types; all mean "not readable HCL"
        line, col = getattr(exc, "line", 1), getattr(exc, "column", 1)
        first = (str(exc).strip().splitlines() or ["unreadable"])[0]
        return TerraformFile(relative, (), (max(int(line), 1), max(int(col), 1), first))
    body = _child(tree, "body")
    if body is not None and _nesting(body) > MAX_NESTING:
        # Reading and walking blocks recurses: deeper text would end lapse, not be refused.
        return TerraformFile(relative, (), (1, 1, f"blocks nested more than {MAX_NESTING} deep"))
    return TerraformFile(relative, _blocks(body, text) if body is not None else ())


def _nesting(body: Any) -> int:
    """How deep blocks nest in `body`, counted level by level without recursion."""
    depth, level = 0, [body]
    while True:
        level = [
            inner
            for node in level
            for block in node.children
            if getattr(block, "data", None) == "block"
            and (inner := _child(block, "body")) is not None
        ]
        if not level:
            return depth
        depth += 1


def _child(node: Any, name: str) -> Any:
    return next(
        (c for c in getattr(node, "children", ()) if getattr(c, "data", None) == name), None
    )


def _blocks(body: Any, text: str) -> tuple[LocatedBlock, ...]:
    return tuple(_block(c, text) for c in body.children if getattr(c, "data", None) == "block")


def _block(node: Any, text: str) -> LocatedBlock:
    parts = [c for c in node.children if hasattr(c, "data")]
    body = next((c for c in parts if c.data == "body"), None)
    heads = [c for c in parts if c.data != "body"]
    labels = tuple(_source(label, text).strip().strip('"') for label in heads[1:])
    attributes = tuple(
        _attribute(c, text)
        for c in (body.children if body is not None else ())
        if getattr(c, "data", None) == "attribute"
    )
    inner = _blocks(body, text) if body is not None else ()
    kind = _source(heads[0], text).strip() if heads else ""
    return LocatedBlock(kind, labels, node.meta.line, node.meta.column, attributes, inner)


def _attribute(node: Any, text: str) -> Attribute:
    # python-hcl2's grammar: `_attribute_name EQ expression`, two trees around a token.
    name, value = (c for c in node.children if hasattr(c, "data"))
    return Attribute(
        _source(name, text).strip(), _source(value, text), node.meta.line, node.meta.column
    )


def _source(node: Any, text: str) -> str:
    meta = node.meta
    return "" if getattr(meta, "empty", True) else text[meta.start_pos : meta.end_pos]


def module_source_inside(folder: str, file_path: str, source: str) -> bool:
    """Whether a local module `source`, relative to the file's folder, stays inside `folder`."""
    if not source.startswith(("./", "../")):
        return False
    parts: list[str] = []
    # PurePosixPath drops "." parts; `..` is resolved here, as Terraform resolves it.
    for part in (*PurePosixPath(file_path).parent.parts, *PurePosixPath(source).parts):
        if part == "..":
            if not parts:
                return False
            parts.pop()
        else:
            parts.append(part)
    path = PurePosixPath(*parts)  # no parts: ".", outside any folder
    if not path.is_relative_to(folder):
        return False
    # .terraform is never read as configuration, so a module there would run unchecked.
    rest = path.relative_to(folder).parts
    return not rest or rest[0] not in LOCAL_STATE
