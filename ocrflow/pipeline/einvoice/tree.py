"""Namespace-agnostic helpers over lxml trees (CII and UBL are read by local names)."""

from __future__ import annotations

import re

from lxml import etree


def local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def find(el: etree._Element | None, *path: str) -> etree._Element | None:
    """First element reached by following child local names from ``el``."""
    current = el
    for name in path:
        kids = children(current, name)
        if not kids:
            return None
        current = kids[0]
    return current


def find_any(el: etree._Element | None, *names: str) -> etree._Element | None:
    """First descendant of ``el`` whose local name is one of ``names`` (in order of preference)."""
    if el is None:
        return None
    for name in names:
        for desc in el.iter():
            if isinstance(desc.tag, str) and etree.QName(desc).localname == name:
                return desc
    return None


def text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    value = re.sub(r"\s+", " ", el.text).strip()
    return value or None


def compact(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v not in (None, "")}
