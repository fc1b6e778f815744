"""OPML 2.0 subscription lists: feeds a reader can import at once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from .eventtext import xml_text


@dataclass(frozen=True)
class Outline:
    """One feed in the list."""

    text: str
    xml_url: str
    html_url: str


def opml_document(title: str, outlines: Sequence[Outline]) -> bytes:
    """Write an OPML 2.0 document listing feeds, escaped by the XML writer."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = xml_text(title)
    body = ET.SubElement(root, "body")
    for o in outlines:
        text = xml_text(o.text)
        ET.SubElement(body, "outline", type="rss", text=text, title=text, xmlUrl=o.xml_url, htmlUrl=o.html_url)
    ET.indent(root)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out
