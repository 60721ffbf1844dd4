"""Shared fixtures. Real corpora live outside the repo (../shared/data next to a checkout on
the project's machines, or wherever PADDLE_NER_SHARED_DATA points); tests that need them skip
cleanly where they are absent, as on a user's clone."""
import contextlib
import logging
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"


# Variables of our Makefile. An outer `make test VAR=...` puts them (and MAKEFLAGS) into the
# environment of the suite; a test that runs make itself starts from a user's clean shell.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PROFILE", "PYTHON", "VENV", "MODELS", "RECIPE", "SEEDS",
                  "DATASET", "DATA_DIR", "PRETRAINED_DIR", "DEVICE", "MAX_STEPS", "MAX_TRAIN_SAMPLES", "RUNS",
                  "RESULTS", "DEMO_RUN")


def make_env():
    """os.environ without the Makefile's variables."""
    return {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}


@contextlib.contextmanager
def quiet_logger(name: str):
    """Only errors from logger ``name`` while inside (e.g. the readers' repair warnings)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


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


# --- offline guard and local HTTP ----------------------------------------------------------------

def pytest_configure(config):
    # The offline guard (tests/offline_plugin.py): no test, nor any Python process a test starts,
    # reaches anything but loopback; a test that tries fails unless it requests `network_blocked`.
    config.pluginmanager.import_plugin("offline_plugin")
    # PaddleNLP's download cache (~/.paddlenlp) is read once, when paddlenlp is imported: point it
    # at a private directory before any test imports it, so that tests never read a user's cached
    # checkpoints nor leave files there (children inherit it).
    _SESSION_ENV["PPNLP_HOME"] = os.environ.get("PPNLP_HOME")
    os.environ["PPNLP_HOME"] = tempfile.mkdtemp(prefix="paddle-ner-ppnlp-")


def pytest_unconfigure(config):
    for name, value in _SESSION_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_SESSION_ENV = {}


@pytest.fixture
def http_stub():
    """A ``stubs.StubServer`` on 127.0.0.1 (ephemeral port), running for the test: set
    ``http_stub.routes[path] = (status, body)`` and point downloads at ``http_stub.url``;
    ``http_stub.requests`` records what was asked. Unknown paths are 404s."""
    from stubs import StubServer

    server = StubServer().start()
    yield server
    server.stop()
