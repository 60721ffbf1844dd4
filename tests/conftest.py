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


@pytest.fixture(scope="session")
def shared_data():
    """Path of the shared corpora; skips the test when they are not on this machine."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared corpora not found at {path} (set PADDLE_NER_SHARED_DATA)")
    return path


@pytest.fixture
def sample_dir():
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """``standin(key)`` -> directory of a shrunk random-weight stand-in checkpoint for that
    ``--model`` key, written once per session and loaded through ``from_pretrained`` like a
    downloaded one."""
    from paddle_ner.models.standin import write_standin

    made = {}

    def get(key):
        if key not in made:
            made[key] = write_standin(key, tmp_path_factory.mktemp(f"standin-{key}"))
        return made[key]

    return get
