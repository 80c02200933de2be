"""The rule language: parse -> check -> compile -> evaluate -> explain.

`compile_condition(text, catalog, media)` is the entry point; see grammar/README.md for the
language itself.
"""

from .catalog import CORE, Catalog, FieldSpec, FunctionSpec
from .diagnostics import CODES, Diagnostic, SourceMap
from .program import Compilation, Program, compile_condition
from .runtime import UNKNOWN, EvalContext

__all__ = [
    "CODES",
    "CORE",
    "UNKNOWN",
    "Catalog",
    "Compilation",
    "Diagnostic",
    "EvalContext",
    "FieldSpec",
    "FunctionSpec",
    "Program",
    "SourceMap",
    "compile_condition",
]
