"""A small Dockerfile reader, enough to check deploy/Dockerfile without a Docker engine.

It joins continuation lines, drops comments and parser directives, and splits each
instruction into its keyword, its ``--flags`` and its arguments (JSON exec form or words).
No linter is involved (hadolint is not installable here); the tests check what matters
to this project.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Instruction", "Stage", "parse_dockerfile", "stages"]

_FLAG = re.compile(r"--([a-z-]+)(?:=(\S+))?")
# Instructions whose arguments may start with --flags (FROM --platform, COPY --from...).
_FLAGGED = {"ADD", "COPY", "FROM", "HEALTHCHECK", "RUN"}


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY...
    text: str  # everything after the keyword, continuation lines joined
    flags: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    exec_form: bool = False  # the arguments were a JSON array


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(path: Path) -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue  # comments and directives (# syntax=...) between instructions
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, f"{path}: the last instruction ends with a line continuation"
    return [_instruction(line) for line in logical]


def _instruction(line: str) -> Instruction:
    keyword, _, text = line.partition(" ")
    text = text.strip()
    flags: dict[str, str] = {}
    rest = text
    while keyword.upper() in _FLAGGED and rest.startswith("--"):
        match = _FLAG.match(rest)
        assert match, f"cannot read the flags of: {line}"
        flags[match.group(1)] = match.group(2) or ""
        rest = rest[match.end() :].lstrip()
    if rest.startswith("["):
        args = json.loads(rest)
        assert all(isinstance(a, str) for a in args), f"not a list of strings: {line}"
        return Instruction(keyword.upper(), text, flags, args, exec_form=True)
    return Instruction(keyword.upper(), text, flags, shlex.split(rest, posix=True))


def stages(instructions: list[Instruction]) -> tuple[list[Instruction], list[Stage]]:
    """The global ARGs before the first FROM, and the build stages in order."""
    preamble: list[Instruction] = []
    found: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            args = instruction.args
            name = args[2] if len(args) >= 3 and args[1].upper() == "AS" else None
            found.append(Stage(name=name, base=args[0]))
        elif found:
            found[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    return preamble, found
