"""The spec folders are data only and never shadow the libraries that share their names."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent


def test_tokenizers_and_filters_do_not_resolve_to_our_folders():
    spec = importlib.util.find_spec("tokenizers")
    assert spec is not None and spec.origin and Path(spec.origin).is_file()
    assert REPO / "tokenizers" not in Path(spec.origin).resolve().parents
    # From the repo root (what `python -c` and spark workers see), too.
    code = "import importlib.util as u; s = u.find_spec('filters'); print(s.origin if s else 'none')"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("none", "None"), f"'import filters' resolves to {out.strip()}"
    out = subprocess.run([sys.executable, "-c", "import tokenizers; print(tokenizers.__file__)"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "site-packages" in out


def test_spec_folders_hold_no_python():
    for folder in ("filters", "tokenizers"):
        assert not list((REPO / folder).rglob("*.py")), f"{folder}/ must hold data only"
    assert not (REPO / "airflow_dags" / "__init__.py").exists()


def test_package_never_imports_spec_folders():
    for path in (REPO / "curator").rglob("*.py"):
        text = path.read_text()
        for name in ("filters", "pipelines", "tokenizers"):
            assert f"\nimport {name}" not in text and f"\nfrom {name} " not in text, f"{path} imports {name}"
