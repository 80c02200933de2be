"""Plex Media Server XML answers in the JSON shape the Plex client reads, for the tests that
feed it recordings and the emulator's XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET


def xml_container(text: str) -> dict:
    """PMS XML in the JSON shape: attributes (strings) as keys, child elements in lists named by
    tag, and Video / Directory metadata elements under `Metadata` as JSON names them."""

    def convert(element: ET.Element) -> dict:
        node: dict = dict(element.attrib)
        for child in element:
            is_item = child.tag == "Video" or "ratingKey" in child.attrib
            node.setdefault("Metadata" if is_item else child.tag, []).append(convert(child))
        return node

    root = ET.fromstring(text)
    assert root.tag == "MediaContainer"
    return convert(root)
