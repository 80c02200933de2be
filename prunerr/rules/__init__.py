"""Rules as code: rule files, their tests and the JSON Schema of the format."""

from .model import KEYS, LoadResult, Rule, load_rules, parse_rule
from .testing import TestRun, run_tests

__all__ = ["KEYS", "LoadResult", "Rule", "TestRun", "load_rules", "parse_rule", "run_tests"]
