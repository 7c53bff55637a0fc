"""The source text of a generator, for the stepper to show with its suspended line.

A generator function's source comes from :func:`inspect.getsourcelines` on its code object.
A generator expression has no source block of its own: ``inspect`` would return the whole
enclosing function, so its text is cut out of the file with the positions its code object
records (``co_positions``), which span exactly the parenthesised expression.
"""

from __future__ import annotations

import inspect
import linecache
import textwrap
from dataclasses import dataclass
from types import CodeType

__all__ = ["SourceText", "source_for_code"]


@dataclass(frozen=True, slots=True)
class SourceText:
    """Lines of source, numbered from ``first_lineno`` as in the file they came from."""

    lines: tuple[str, ...]
    """The lines, without line endings, dedented as a block."""
    first_lineno: int
    """The file's line number of ``lines[0]``."""
    filename: str | None = None
    """Where the source came from, if it came from a file."""
    expression: bool = False
    """True for a generator expression shown as just its expression."""

    @property
    def text(self) -> str:
        """The whole source as one string."""
        return "\n".join(self.lines)

    @property
    def last_lineno(self) -> int:
        """The file's line number of the last line."""
        return self.first_lineno + len(self.lines) - 1

    def contains(self, lineno: int | None) -> bool:
        """Whether the file line ``lineno`` is one of these lines."""
        return lineno is not None and self.first_lineno <= lineno <= self.last_lineno

    def line(self, lineno: int) -> str:
        """The text of file line ``lineno`` (empty if it is not one of these lines)."""
        if not self.contains(lineno):
            return ""
        return self.lines[lineno - self.first_lineno]


def _strip_indent(line: str, columns: int) -> str:
    """Remove up to ``columns`` leading spaces, keeping the rest of the indentation."""
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, columns) :]


def _genexpr_source(code: CodeType) -> SourceText | None:
    """Cut a generator expression out of its file using the code object's positions."""
    spans = [
        (start, end, col, end_col)
        for start, end, col, end_col in code.co_positions()
        if start is not None
        and end is not None
        and col is not None
        and end_col is not None
        and (start, col) != (end, end_col)  # empty spans mark bookkeeping instructions
    ]
    if not spans:
        return None
    first = min((start, col) for start, _end, col, _end_col in spans)
    last = max((end, end_col) for _start, end, _col, end_col in spans)
    file_lines = linecache.getlines(code.co_filename)
    if not file_lines or last[0] > len(file_lines):
        return None
    chunk = [line.rstrip("\r\n") for line in file_lines[first[0] - 1 : last[0]]]
    if len(chunk) == 1:
        chunk = [chunk[0][first[1] : last[1]]]
    else:
        chunk[-1] = chunk[-1][: last[1]]
        chunk[0] = chunk[0][first[1] :]
        chunk[1:] = [_strip_indent(line, first[1]) for line in chunk[1:]]
    return SourceText(tuple(chunk), first[0], code.co_filename, expression=True)


def source_for_code(code: CodeType) -> SourceText | None:
    """The source of the generator whose code object is ``code``, or None if not available."""
    if code.co_name == "<genexpr>":
        return _genexpr_source(code)
    try:
        lines, first = inspect.getsourcelines(code)
    except (OSError, TypeError):
        return None
    block = textwrap.dedent("".join(lines)).rstrip("\n").split("\n")
    return SourceText(tuple(block), max(first, 1), code.co_filename)
