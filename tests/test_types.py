"""The compiler and runtime packages type-check: mypy, configured in pyproject.toml, finds
no error in compiler/ or runtime/.

mypy keeps its cache in .mypy_cache at the project root, so a rerun rechecks only what
changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent


def test_compiler_and_runtime_type_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the `files` of the configuration are relative to the root
    stdout, stderr, status = api.run(["--config-file", "pyproject.toml",
                                      "--cache-dir", ".mypy_cache"])
    assert status == 0, f"mypy found errors:\n{stdout}{stderr}"
    assert stdout.startswith("Success:"), stdout
