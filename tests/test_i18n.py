"""Every string exists in every language, and the English file is strings.json."""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import i18n  # noqa: E402


def test_translations_are_complete() -> None:
    """No language misses or adds a key; en.json equals strings.json."""
    assert i18n.problems() == []


def test_placeholders_match_english() -> None:
    """A translation keeps exactly the placeholders of the English text."""
    strings = json.loads(i18n.STRINGS.read_text(encoding="utf-8"))

    def leaves(data: dict[str, object], prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in data.items():
            path = f"{prefix}.{key}"
            if isinstance(value, dict):
                out |= leaves(value, path)
            else:
                out[path] = str(value)
        return out

    english = leaves(strings)
    for lang in i18n.LANGUAGES[1:]:
        other = leaves(json.loads((i18n.TRANSLATIONS / f"{lang}.json").read_text("utf-8")))
        for key, text in english.items():
            assert set(re.findall(r"{\w+}", other[key])) == set(re.findall(r"{\w+}", text)), (
                lang,
                key,
            )


def test_every_icon_belongs_to_a_translated_entity() -> None:
    """icons.json names only entities that strings.json names too."""
    strings = json.loads(i18n.STRINGS.read_text(encoding="utf-8"))["entity"]
    icons = json.loads((i18n.ROOT / "icons.json").read_text(encoding="utf-8"))["entity"]
    for platform, keys in icons.items():
        for key, icon in keys.items():
            assert key in strings[platform], (platform, key)
            assert icon["default"].startswith("mdi:")
