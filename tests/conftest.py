"""Shared fixtures. Real corpora live outside the repo (../shared/data next to a checkout on
the project's machines, or wherever PADDLE_NER_SHARED_DATA points); tests that need them skip
cleanly where they are absent, as on a user's clone."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"


def shared_data_dir():
    env = os.environ.get("PADDLE_NER_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data():
    """Path of the shared corpora; skips the test when they are not on this machine."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpora not found at {path} (set PADDLE_NER_SHARED_DATA)")
    return path


@pytest.fixture
def sample_dir():
    return SAMPLE_DIR
