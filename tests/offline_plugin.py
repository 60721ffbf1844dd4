"""pytest side of the offline guard (tests/offline/paddle_ner_offline_guard.py).

For the whole session:
  * the guard is installed in this process, and tests/offline (a sitecustomize that installs it)
    goes first on PYTHONPATH with $PADDLE_NER_TEST_OFFLINE_LOG naming a fresh log file, so every
    Python child process is guarded and records its attempts there too;
  * proxy variables are dropped: a proxy on loopback would carry traffic past the guard.
os.environ is restored at the end.

Per test: code under test may catch the guard's "network unreachable" error, so after each phase
the log is read and a test that made an attempt FAILS (setup or teardown attempts make it an
error), unless it requests the ``network_blocked`` fixture. Attempts outside any test (at
collection, say) are listed in the summary and fail the session.

Loaded by tests/conftest.py; ``pytest -p offline_plugin`` loads it into a run without that
conftest (the pytester runs of tests/test_offline_guard.py).
"""
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

OFFLINE_DIR = Path(__file__).resolve().parent / "offline"
GUARD_MODULE = "paddle_ner_offline_guard"
PROXY_VARS = ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY")
HINT = ("Tests must not use the network: serve files with the `http_stub` fixture or point the "
        "code at a local directory. A test of the offline path itself requests the "
        "`network_blocked` fixture (and may check `network_blocked.attempts`).")

_STATE = pytest.StashKey()


def load_guard():
    """The guard module; the very object a sitecustomize already imported if this pytest is
    itself a guarded child, so that socket is patched once."""
    if GUARD_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(GUARD_MODULE, OFFLINE_DIR / f"{GUARD_MODULE}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[GUARD_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[GUARD_MODULE]


class OfflineSession:
    """Log file, environment and not yet reported attempts of one pytest session."""

    def __init__(self):
        self.guard = load_guard()
        fd, self.log = tempfile.mkstemp(prefix="paddle-ner-offline-", suffix=".jsonl")
        os.close(fd)
        self.offset = 0
        self.pending = []  # attempts of the current test, read from the log
        self.stray = []  # attempts made outside any test
        self.saved_env = {}
        self._set_env()
        self.owns_patch = self.guard.install(self.log)

    def _set_env(self):
        path = os.environ.get("PYTHONPATH")
        self._setenv("PYTHONPATH", os.pathsep.join([str(OFFLINE_DIR)] + ([path] if path else [])))
        self._setenv(self.guard.LOG_ENV, self.log)
        for name in PROXY_VARS:
            self._setenv(name, None)

    def _setenv(self, name, value):
        self.saved_env.setdefault(name, os.environ.get(name))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def close(self):
        if self.owns_patch:
            self.guard.uninstall()
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.unlink(self.log)

    def drain(self):
        """Move attempts logged since the last call to ``pending``; returns ``pending``."""
        with open(self.log, "rb") as log:
            log.seek(self.offset)
            data = log.read()
        complete = data[:data.rfind(b"\n") + 1]  # a child may be mid-write: leave a partial line
        self.offset += len(complete)
        self.pending.extend(json.loads(line) for line in complete.splitlines() if line.strip())
        return self.pending

    def take(self):
        attempts, self.pending = self.drain(), []
        return attempts


class BlockedAttempts:
    """What ``network_blocked`` gives a test: the attempts the guard refused so far in it."""

    def __init__(self, state):
        self._state = state

    @property
    def attempts(self):
        """Dicts with ``call`` (connect, getaddrinfo, ...), ``address`` ("10.0.0.1:80",
        "example.com:443"), ``pid`` and ``test``, from this process and its children."""
        return list(self._state.drain())

    @property
    def addresses(self):
        return [a["address"] for a in self.attempts]


def describe(attempts):
    lines = [f"offline guard: {len(attempts)} network attempt(s) refused "
             "(as 'Network is unreachable' / 'Temporary failure in name resolution'):"]
    for a in attempts:
        lines.append(f"  {a['call']} {a['address']}  ({_origin(a)})")
    return "\n".join(lines + [HINT])


def _origin(attempt):
    who = ("this process" if attempt["pid"] == os.getpid()
           else f"child pid {attempt['pid']}: {' '.join(attempt.get('argv') or [])}")
    return f"{who}; during {attempt['test']}" if attempt.get("test") else who


def pytest_configure(config):
    config.stash[_STATE] = OfflineSession()


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()
        del config.stash[_STATE]


@pytest.fixture
def network_blocked(request):
    """Lets a test reach for the network and be refused; its attempts are checked by the test
    (``network_blocked.attempts``) instead of failing it, and are cleared after it."""
    return BlockedAttempts(request.config.stash[_STATE])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    state = item.config.stash.get(_STATE, None)
    if state is None:
        return report
    if "network_blocked" in getattr(item, "fixturenames", ()):
        if report.when == "teardown":
            state.take()
        return report
    attempts = state.take()
    if attempts:
        _fail(report, describe(attempts))
    return report


def _fail(report, message):
    if report.failed:
        report.sections.append(("offline guard", message))
        return
    report.outcome = "failed"
    report.longrepr = message
    if hasattr(report, "wasxfail"):
        del report.wasxfail  # an xfail test that went for the network is a failure all the same


def pytest_collection_finish(session):
    _collect_stray(session.config)


def pytest_sessionfinish(session):
    _collect_stray(session.config)
    state = session.config.stash.get(_STATE, None)
    if state is not None and state.stray and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _collect_stray(config):
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.stray.extend(state.take())


def pytest_terminal_summary(terminalreporter, config):
    state = config.stash.get(_STATE, None)
    if state is not None and state.stray:
        terminalreporter.section("offline guard: attempts outside any test", red=True)
        terminalreporter.line(describe(state.stray))
