"""The suite's offline guard (tests/offline_plugin.py, tests/offline/) works and can fail a test.

Nothing here sends a packet off this host: every non-loopback attempt is made only after
checking that the guard is in place, so a broken guard fails these tests instead of leaking.
"""
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from http.client import IncompleteRead

import pytest

from offline_plugin import OFFLINE_DIR

pytest_plugins = ["pytester"]

MARK = "__paddle_ner_offline_guard__"
FAR = ("10.255.255.1", 80)  # private, unrouted: refused by the guard before any packet leaves

REQUIRE_GUARD = f"""
import socket, sys
if not all(getattr(f, "{MARK}", False) for f in (socket.socket.connect, socket.getaddrinfo)):
    sys.exit("offline guard not installed: refusing to try the network")
"""


def require_guard():
    if not all(getattr(f, MARK, False) for f in (socket.socket.connect, socket.getaddrinfo)):
        pytest.fail("offline guard not installed: refusing to try the network")


def run_inner(pytester, source):
    """An inner pytest run with the offline plugin, in this process. Hypothesis's plugin is
    left out: it would re-import hypothesis (a second per run)."""
    pytester.makepyfile(test_inner=REQUIRE_GUARD + source)
    return pytester.runpytest_inprocess("-p", "offline_plugin", "-p", "no:cacheprovider",
                                        "-p", "no:hypothesispytest")


def run_child(code, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=env)


# --- in a test --------------------------------------------------------------------------------

def test_a_test_that_reaches_out_fails_even_when_it_catches_the_error(pytester):
    result = run_inner(pytester, f"""
import errno

def test_connect_swallowed():
    try:
        socket.create_connection({FAR!r}, timeout=1)
    except OSError as exc:
        assert exc.errno == errno.ENETUNREACH

def test_lookup_swallowed():
    try:
        socket.getaddrinfo("offline-guard-probe.invalid", 443)
    except OSError:
        pass

def test_quiet():
    pass
""")
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines([
        "*_ test_connect_swallowed _*", "offline guard: 1 network attempt(s) refused*",
        "  connect 10.255.255.1:80  (this process; during test_inner.py::test_connect_swallowed (call))",
        "*network_blocked*",
        "*_ test_lookup_swallowed _*", "*getaddrinfo offline-guard-probe.invalid:443*",
    ])


def test_an_attempt_in_a_fixture_is_an_error_of_that_test(pytester):
    result = run_inner(pytester, f"""
import pytest

@pytest.fixture
def reaches_out():
    socket.socket().connect_ex({FAR!r})

def test_uses_it(reaches_out):
    pass
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*connect_ex 10.255.255.1:80*"])


def test_network_blocked_lets_a_test_check_the_refusal(pytester):
    result = run_inner(pytester, f"""
import errno
import pytest

def test_offline_path(network_blocked):
    with pytest.raises(OSError) as exc:
        socket.create_connection({FAR!r}, timeout=1)
    assert exc.value.errno == errno.ENETUNREACH
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("offline-guard-probe.invalid", 80)
    assert network_blocked.addresses == ["10.255.255.1:80", "offline-guard-probe.invalid:80"]

def test_next_test_starts_clean():
    pass
""")
    result.assert_outcomes(passed=2)


def test_an_attempt_outside_any_test_fails_the_session(pytester):
    result = run_inner(pytester, f"""
try:
    socket.create_connection({FAR!r}, timeout=1)  # at import, i.e. during collection
except OSError:
    pass

def test_fine():
    pass
""")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*offline guard: attempts outside any test*", "*connect 10.255.255.1:80*"])


# --- what stays allowed ---------------------------------------------------------------------------

def _serve_once(family, host):
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen(1)
    return server


def _round_trip(server, address, connect=socket.create_connection):
    with connect(address) as client:
        peer, _ = server.accept()
        with peer:
            client.sendall(b"ping")
            assert peer.recv(4) == b"ping"


def test_loopback_and_unix_sockets_still_work(tmp_path):
    with _serve_once(socket.AF_INET, "127.0.0.1") as server:
        port = server.getsockname()[1]
        _round_trip(server, ("127.0.0.1", port))
        _round_trip(server, ("localhost", port))
    if socket.has_ipv6:
        try:
            server = _serve_once(socket.AF_INET6, "::1")
        except OSError:
            server = None  # no IPv6 loopback in this sandbox
        if server is not None:
            with server:
                _round_trip(server, ("::1", server.getsockname()[1]))
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        _round_trip(server, path, connect=lambda a: _unix_client(a))
    assert socket.getaddrinfo("localhost", 80)
    try:  # this host's name (paddle.distributed.launch looks it up): answered by /etc/hosts
        socket.getaddrinfo(socket.gethostname(), None)
    except socket.gaierror as exc:
        assert "offline test guard" not in str(exc)


def _unix_client(path):
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    return client


# --- child processes ------------------------------------------------------------------------------

def test_a_child_process_is_guarded_and_its_attempts_recorded(network_blocked):
    require_guard()
    code = REQUIRE_GUARD + f"""
import errno
try:
    socket.create_connection({FAR!r}, timeout=1)
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""
    child = run_child(code)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["ENETUNREACH"]
    [attempt] = network_blocked.attempts
    assert attempt["address"] == "10.255.255.1:80" and attempt["call"] == "connect"
    assert attempt["pid"] != os.getpid()
    assert "::test_a_child_process_is_guarded_and_its_attempts_recorded (call)" in attempt["test"]


def test_a_child_loads_the_guard_only_when_it_imports_socket():
    child = run_child(f"""
import sys
print("socket" in sys.modules, "paddle_ner_offline_guard" in sys.modules)
import socket
print(getattr(socket.socket.connect, "{MARK}", False), getattr(socket.getaddrinfo, "{MARK}", False))
""")
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["False", "False", "True", "True"]


def test_the_sitecustomize_we_shadow_still_runs(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("print('chained sitecustomize ran')\n")
    # Right after ours: what the interpreter would run next, whatever PYTHONPATH already holds.
    paths = [str(OFFLINE_DIR), str(tmp_path), os.environ["PYTHONPATH"]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    child = run_child("import sitecustomize; print(sitecustomize.__file__)", env=env)
    assert child.stdout.splitlines() == ["chained sitecustomize ran", str(tmp_path / "sitecustomize.py")]


def test_the_interpreters_own_sitecustomize_still_runs():
    """Debian's /usr/lib/python3.11/sitecustomize.py on .venv-gpu; none on .venv."""
    code = "import sitecustomize; print(sitecustomize.__file__)"
    ours = [p for p in os.environ["PYTHONPATH"].split(os.pathsep) if p != str(OFFLINE_DIR)]
    native = run_child(code, env=dict(os.environ, PYTHONPATH=os.pathsep.join(ours)))
    guarded = run_child(code)
    expected = native.stdout if native.returncode == 0 else f"{OFFLINE_DIR / 'sitecustomize.py'}\n"
    assert guarded.stdout == expected, guarded.stderr


# --- http_stub -----------------------------------------------------------------------------------

def test_http_stub_serves_routes_records_requests_and_404s_the_rest(http_stub):
    http_stub.routes["/model_config.json"] = (200, b'{"hidden_size": 8}')
    http_stub.routes["/vocab.txt"] = (200, b"[PAD]\n", {"Content-Length": "1000"})  # truncated
    with urllib.request.urlopen(http_stub.url_for("model_config.json"), timeout=5) as response:
        assert response.status == 200 and response.read() == b'{"hidden_size": 8}'
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(http_stub.url + "/no/such/file?x=1", timeout=5)
    assert missing.value.code == 404
    with urllib.request.urlopen(http_stub.url_for("vocab.txt"), timeout=5) as response:
        with pytest.raises(IncompleteRead):
            response.read()
    head = urllib.request.Request(http_stub.url_for("model_config.json"), method="HEAD")
    with urllib.request.urlopen(head, timeout=5) as response:
        assert response.headers["Content-Length"] == "18" and response.read() == b""
    assert http_stub.paths() == ["/model_config.json", "/no/such/file?x=1", "/vocab.txt", "/model_config.json"]
    assert [method for method, _, _ in http_stub.requests] == ["GET", "GET", "GET", "HEAD"]
