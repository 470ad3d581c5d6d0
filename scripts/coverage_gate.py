#!/usr/bin/env python3
"""Fail when any measured module is covered below the given percentage."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import tempfile


def main(threshold: float) -> int:
    """Print the coverage table and check every module against ``threshold``."""
    subprocess.run([sys.executable, "-m", "coverage", "report"], check=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(out)], check=True)
        files = json.loads(out.read_text())["files"]
    low = {
        name: data["summary"]["percent_covered"]
        for name, data in files.items()
        if data["summary"]["percent_covered"] < threshold
    }
    for name, percent in sorted(low.items()):
        print(f"coverage of {name} is {percent:.1f} % (< {threshold:g} %)")
    if low:
        return 1
    print(f"every module is covered at {threshold:g} % or more")
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 95.0))
