"""Reading a code-list file: YAML parsed once into plain data plus its node tree, so that every problem found later
(schema, unknown concept, re-mapped code) can name the line; duplicate keys are refused. InvalidCodeFile is the one
error a malformed code file raises."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

Location = Sequence[str | int]  # keys and list indexes from the top of the file down to a value


class InvalidCodeFile(ValueError):
    """A code-list file is malformed. The message names the file and line of the first problem, then (one per
    line) any further problems found in the same check."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        line: int | None,
        message: str,
        more: Iterable[tuple[int | None, str]] = (),
    ) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        self.problems: tuple[tuple[int | None, str], ...] = ((line, message), *more)
        super().__init__("\n".join(f"{self._where(at)}: {text}" for at, text in self.problems))

    def _where(self, line: int | None) -> str:
        return f"{self.path}:{line}" if line is not None else self.path


@dataclass(frozen=True, slots=True)
class CodeFile:
    """One parsed file: `data` as plain Python values, `node` the YAML node tree they were built from."""

    path: Path
    data: Any
    node: yaml.Node | None

    def node_at(self, location: Location) -> yaml.Node | None:
        node = self.node
        for step in location:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
            else:
                return None
        return node

    def line(self, location: Location = ()) -> int | None:
        """Line (1-based) where the value at `location` starts."""
        node = self.node_at(location)
        return node.start_mark.line + 1 if node is not None else None

    def key_line(self, location: Location, key: str | int) -> int | None:
        """Line of `key` in the mapping at `location`, else the mapping's own line."""
        node = self.node_at(location)
        if isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    return k.start_mark.line + 1
        return self.line(location)

    def problem(self, location: Location, message: str) -> InvalidCodeFile:
        return InvalidCodeFile(self.path, self.line(location), message)


def read_code_file(path: Path) -> CodeFile:
    """Parse `path` (UTF-8 YAML, plain data only); unreadable files and YAML errors become InvalidCodeFile."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidCodeFile(path, None, f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidCodeFile(path, None, "file is not UTF-8 text") from exc
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        _check_duplicate_keys(path, node)
        data = loader.construct_document(node) if node is not None else None  # the safe loader: plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InvalidCodeFile(path, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidCodeFile(path, None, f"YAML error: {exc}") from exc
    finally:
        loader.dispose()
    return CodeFile(path, data, node)


def _check_duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    """PyYAML silently keeps the last of duplicate keys; a reviewed file must not hide an entry that way."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise InvalidCodeFile(path, k.start_mark.line + 1, f"duplicate key {k.value!r}")
                    seen.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
