"""Terraform text in the plain shape the grants template writes, read without python-hcl2.

Validation reads every `.tf` file under terraform/ as located blocks, and terraform/grants/
holds a file per request: a pull request adds one, and building python-hcl2's parser to read
it costs more than checking every request. This reader answers only for text made whole of
the lines the template writes, in printable ASCII with `\\n` line ends:

  a comment          `#...`, outside every block
  a blank line       nothing at all
  a block's header   `NAME "LABEL"... {`, indented two spaces per enclosing block
  an attribute       `NAME = "STRING"` inside a block, at that indent, `=` padded by spaces
  a block's end      `}`, at its header's indent

where a NAME is an identifier but none of HCL's keywords, a LABEL holds none of `"\\$%{}` and
a STRING none of `"$%{}` nor a backslash but in `\\"`, and blocks nest at most `MAX_DEPTH`
deep. For anything else it answers None, and the text is parsed with python-hcl2.
test_plain_blocks holds its blocks equal to python-hcl2's over rendered files and over their
one-character edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.terraform.configuration import Attribute, LocatedBlock

MAX_DEPTH = 3  # the template nests two deep (a condition inside a resource)
# Words HCL reads as keywords or literals where a name may stand: left to python-hcl2.
KEYWORDS = frozenset({"in", "for", "if", "for_each", "else", "endif", "endfor"})
LITERALS = frozenset({"true", "false", "null"})
_NOT_PLAIN = re.compile(r"[^\n -~]")  # anything but printable ASCII and `\n`
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_LABEL = r'"[^"\\$%{}]*"'
_HEADER = re.compile(rf"( *)({_NAME})((?: {_LABEL})*) \{{")
_ATTRIBUTE = re.compile(rf'( *)({_NAME}) *= ("(?:[^"\\$%{{}}]|\\")*")')
_END = re.compile(r"( *)\}")
_LABELS = re.compile(_LABEL)


@dataclass(slots=True)
class _Open:
    """A block whose end is not yet read."""

    kind: str
    labels: tuple[str, ...]
    line: int
    col: int
    attributes: list[Attribute] = field(default_factory=list)
    blocks: list[LocatedBlock] = field(default_factory=list)


def read(text: str) -> tuple[LocatedBlock, ...] | None:
    """The top-level blocks of `text` as python-hcl2 locates them, or None: not plain."""
    if not text.endswith("\n") or _NOT_PLAIN.search(text):
        return None
    top: list[LocatedBlock] = []
    open_: list[_Open] = []
    for number, line in enumerate(text[:-1].split("\n"), 1):
        if not line:
            continue
        depth = len(open_)
        if line[0] == "#":
            if depth:
                return None
            continue
        indent = 2 * depth
        if (header := _HEADER.fullmatch(line)) and len(header.group(1)) == indent:
            kind = header.group(2)
            if depth == MAX_DEPTH or not _plain_name(kind):
                return None
            labels = tuple(label[1:-1] for label in _LABELS.findall(header.group(3)))
            open_.append(_Open(kind, labels, number, indent + 1))
        elif (attribute := _ATTRIBUTE.fullmatch(line)) and len(attribute.group(1)) == indent:
            name = attribute.group(2)
            if not depth or not _plain_name(name):
                return None
            open_[-1].attributes.append(Attribute(name, attribute.group(3), number, indent + 1))
        elif depth and (end := _END.fullmatch(line)) and len(end.group(1)) == indent - 2:
            done = open_.pop()
            block = LocatedBlock(
                done.kind,
                done.labels,
                done.line,
                done.col,
                tuple(done.attributes),
                tuple(done.blocks),
            )
            (open_[-1].blocks if open_ else top).append(block)
        else:
            return None
    return None if open_ else tuple(top)


def _plain_name(name: str) -> bool:
    return name not in KEYWORDS and name not in LITERALS
