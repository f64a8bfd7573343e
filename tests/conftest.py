"""Shared fixtures: the project's ``../shared`` folder (skipped when absent) and test data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (CI has it; a user's clone may not)."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared is not beside this clone ({SHARED_DIR}); reference data absent")
    return SHARED_DIR
