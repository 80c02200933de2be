"""Diagnostics: stable codes, positions in the user's file, and compiler-style rendering."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace

from .ast import Span

ERROR = "error"
WARNING = "warning"

# code -> (severity, one-line summary). Every code is documented in grammar/README.md.
CODES: dict[str, tuple[str, str]] = {
    "E001": (ERROR, "syntax error"),
    "E002": (ERROR, "unterminated string"),
    "E003": (ERROR, "unexpected end of expression"),
    "E004": (ERROR, "invalid escape sequence in a string"),
    "E005": (ERROR, "invalid literal (date, number or unit)"),
    "E101": (ERROR, "unknown field"),
    "E102": (ERROR, "unknown function"),
    "E103": (ERROR, "wrong number of arguments"),
    "E104": (ERROR, "argument of the wrong type"),
    "E105": (ERROR, "field does not apply to the rule's media type"),
    "E201": (ERROR, "operator applied to the wrong types"),
    "E202": (ERROR, "value not in the field's enumeration"),
    "E203": (ERROR, "ordering comparison on an unordered type"),
    "E204": (ERROR, "invalid regular expression"),
    "E205": (ERROR, "expression is not a condition (not boolean)"),
    "E206": (ERROR, "list elements of different types"),
    "E301": (ERROR, "empty condition"),
    "E302": (ERROR, "constant condition"),
    "E303": (ERROR, "condition too long, too deeply nested or too large"),
    "W101": (WARNING, "ordering comparison on a nullable value without a null guard"),
    "W102": (WARNING, "`!=` or `not in` on a nullable value is true for null"),
    "R000": (ERROR, "internal error while loading the rule"),
    "R001": (ERROR, "invalid YAML, or the file cannot be read"),
    "R002": (ERROR, "missing required key"),
    "R003": (ERROR, "unknown key"),
    "R004": (ERROR, "invalid value"),
    "R005": (ERROR, "duplicate key"),
    "T001": (ERROR, "invalid test file"),
    "T002": (ERROR, "unknown field in a test item"),
    "T003": (ERROR, "invalid value in a test item"),
    "T004": (ERROR, "test file without a rule"),
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span = (0, 0)
    hint: str | None = None

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def shifted(self, offset: int) -> Diagnostic:
        return replace(self, span=(self.span[0] + offset, self.span[1] + offset))


@dataclass(frozen=True)
class Located:
    """A diagnostic placed in a file: 1-based lines and columns; the end is exclusive."""

    diagnostic: Diagnostic
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    source_line: str

    def as_dict(self) -> dict:
        d = self.diagnostic
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "hint": d.hint,
        }

    def render(self) -> str:
        d = self.diagnostic
        head = f"{self.path}:{self.line}:{self.column}: {d.severity}[{d.code}]: {d.message}"
        width = (self.end_column - self.column) if self.end_line == self.line else 1
        gutter = f"{self.line} | "
        lines = [head, gutter + self.source_line.rstrip("\n")]
        lines.append(" " * (len(gutter) + self.column - 1) + "^" * max(1, width))
        if d.hint:
            lines.append(f"  hint: {d.hint}")
        return "\n".join(lines)


class SourceMap:
    """Maps offsets in an expression to lines and columns of the file it came from.

    `position` converts an offset in the expression into an offset in `text` (the whole file);
    the identity for an expression given on its own."""

    def __init__(self, text: str, path: str, position: Callable[[int], int] = lambda o: o):
        self.text = text
        self.path = path
        self._position = position
        self._line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def line_col(self, file_offset: int) -> tuple[int, int]:
        file_offset = max(0, min(file_offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, file_offset) - 1
        return line + 1, file_offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end >= 0 else len(self.text)]

    def locate(self, diagnostic: Diagnostic) -> Located:
        start = self._position(diagnostic.span[0])
        end = self._position(max(diagnostic.span[1] - 1, diagnostic.span[0])) + 1
        line, col = self.line_col(start)
        end_line, end_col = self.line_col(end)
        return Located(diagnostic, self.path, line, col, end_line, end_col, self.line_text(line))
