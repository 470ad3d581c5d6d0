#!/usr/bin/env python3
"""Keep strings.json and translations/*.json in step.

    python scripts/i18n.py merge FRAGMENT.json   deep-merge {"en": {...}, "nb": {...}, ...}
    python scripts/i18n.py check                 fail when a language misses or adds a key

``strings.json`` is the English source; ``translations/en.json`` is written identical to it.
Merges hold a lock so that several people can add strings at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import fcntl
import json
from pathlib import Path
import sys
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "custom_components" / "velux_homely"
STRINGS = ROOT / "strings.json"
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("en", "nb", "da", "de", "fr", "nl")


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with (ROOT / ".i18n.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        keys |= _keys(value, path) if isinstance(value, dict) else {path}
    return keys


def merge(fragment_path: Path) -> None:
    """Merge a fragment into strings.json and every translation."""
    fragment = _load(fragment_path)
    with _locked():
        TRANSLATIONS.mkdir(exist_ok=True)
        strings = _load(STRINGS)
        _merge(strings, fragment.get("en", {}))
        _dump(STRINGS, strings)
        _dump(TRANSLATIONS / "en.json", strings)
        for lang in LANGUAGES[1:]:
            current = _load(TRANSLATIONS / f"{lang}.json")
            _merge(current, fragment.get(lang, {}))
            _dump(TRANSLATIONS / f"{lang}.json", current)


def problems() -> list[str]:
    """Return every difference between strings.json and the translations."""
    strings = _load(STRINGS)
    expected = _keys(strings)
    found: list[str] = []
    if _load(TRANSLATIONS / "en.json") != strings:
        found.append("translations/en.json differs from strings.json")
    for lang in LANGUAGES[1:]:
        keys = _keys(_load(TRANSLATIONS / f"{lang}.json"))
        found += [f"{lang}: missing {key}" for key in sorted(expected - keys)]
        found += [f"{lang}: unknown {key}" for key in sorted(keys - expected)]
    return found


def main(argv: list[str]) -> int:
    """Run the command line."""
    if len(argv) == 3 and argv[1] == "merge":
        merge(Path(argv[2]))
        return 0
    if len(argv) == 2 and argv[1] == "check":
        found = problems()
        print("\n".join(found) or "translations complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
