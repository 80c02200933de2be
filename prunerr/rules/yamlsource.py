"""YAML documents that remember where each value came from, for diagnostics in the user's file."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from prunerr.dsl import Diagnostic, SourceMap


@dataclass
class YamlDoc:
    """A parsed YAML file: its root node, the loader that builds values, and its source map."""

    path: str
    text: str
    root: yaml.Node | None
    loader: yaml.SafeLoader
    source: SourceMap

    def value(self, node: yaml.Node) -> object:
        return self.loader.construct_object(node, deep=True)

    @staticmethod
    def span(node: yaml.Node) -> tuple[int, int]:
        return (node.start_mark.index, max(node.end_mark.index, node.start_mark.index + 1))

    def mapping(self, node: yaml.Node) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """(key, key node, value node) for a mapping node; keys are read as strings."""
        return [(str(self.value(k)), k, v) for k, v in node.value]

    def expression_map(self, node: yaml.ScalarNode) -> SourceMap:
        """A source map from offsets in a scalar's value (a `when:` expression) to the file.

        Each non-space character of the value is found, in order, in the scalar's raw text, which
        works for plain, quoted, literal (`|`) and folded (`>`) scalars alike."""
        text, value = self.text, node.value
        start, end = node.start_mark.index, node.end_mark.index
        if node.style in ("'", '"'):
            start += 1
        elif node.style in ("|", ">"):
            start = text.find("\n", start, end) + 1 or start
        offsets = []
        j = start
        for ch in value:
            if not ch.isspace():
                k = text.find(ch, j, end)
                if k >= 0:
                    j = k
            offsets.append(min(j, max(end - 1, start)))
            if not ch.isspace():
                j += 1
        offsets.append(min(j, end))
        return SourceMap(text, self.path, lambda o: offsets[max(0, min(o, len(offsets) - 1))])


def load_yaml(path: str, text: str) -> tuple[YamlDoc | None, Diagnostic | None]:
    """Parse one YAML document; a syntax error becomes an R001 diagnostic at its position."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        offset = mark.index if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return None, Diagnostic("R001", f"invalid YAML: {problem}", (offset, offset + 1))
    return YamlDoc(path, text, root, loader, SourceMap(text, path)), None
