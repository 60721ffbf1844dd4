"""Offline guard of the test suite: refuses network traffic to anything but this host.

Loaded by ``tests/offline_plugin.py`` inside pytest and by ``tests/offline/sitecustomize.py`` in
every Python child process the tests start. In a child, sitecustomize loads it only when something
imports ``socket`` (most children that do are about to use the network, or are heavy anyway), so
a child that never does pays nothing for it at start-up. Its own imports are os and sys, which
every interpreter has loaded already; the rest is imported on a socket call.

What is refused (the caller sees the error a machine without network gives it):
  * ``connect`` / ``sendto`` of an AF_INET / AF_INET6 socket to a non-loopback address:
    ``OSError(ENETUNREACH)``; ``connect_ex`` returns ENETUNREACH, as it does for real;
  * name lookups of a host that is not this one (a DNS query is traffic too):
    ``socket.gaierror(EAI_AGAIN)``, which is an OSError as well.
Every refusal is appended as one JSON line to the file named by $PADDLE_NER_TEST_OFFLINE_LOG
(read at the time of the attempt, so a nested pytest run can redirect it), which is how pytest
learns about attempts that the code under test caught, including those of child processes.

Not covered: sockets opened by C code (libzmq, gloo, libcurl), and interpreters started with
-I / -E or with an environment that drops PYTHONPATH.
"""
import os
import sys

LOG_ENV = "PADDLE_NER_TEST_OFFLINE_LOG"
MARK = "__paddle_ner_offline_guard__"

# Names that resolve from /etc/hosts, never through DNS. This host's own name is allowed too:
# paddle.distributed.launch resolves it to pick the address its ranks rendezvous on.
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

_state = {"log": None, "originals": None}


def install(log_path=None):
    """Patch ``socket`` now. Returns False when it was patched already (nested pytest runs, or
    the sitecustomize hook below), so that only the first installer uninstalls."""
    _state["log"] = _state["log"] or log_path
    if _state["originals"] is not None:
        return False
    import socket  # in a guarded child this may run patched_socket_spec's loader, which patches

    if _state["originals"] is not None:
        return False
    _patch(socket)
    return True


def uninstall():
    originals, _state["originals"] = _state["originals"], None
    if originals is None:
        return
    import socket

    for name, value in originals["module"].items():
        setattr(socket, name, value)
    for name, value in originals["class"].items():
        setattr(socket.socket, name, value)


# --- patching -------------------------------------------------------------------------------------

def _patch(socket):
    cls = socket.socket
    originals = {"class": {n: getattr(cls, n) for n in ("connect", "connect_ex", "sendto")},
                 "module": {n: getattr(socket, n) for n in
                            ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr")}}
    _state["originals"] = originals
    cls.connect = _guard_connect(originals["class"]["connect"])
    cls.connect_ex = _guard_connect_ex(originals["class"]["connect_ex"])
    cls.sendto = _guard_sendto(originals["class"]["sendto"])
    socket.getaddrinfo = _guard_lookup(originals["module"]["getaddrinfo"], "getaddrinfo", _names_host)
    for name in ("gethostbyname", "gethostbyname_ex"):
        setattr(socket, name, _guard_lookup(originals["module"][name], name, _names_host))
    # A reverse lookup of any address but a loopback one is a DNS query.
    socket.gethostbyaddr = _guard_lookup(originals["module"]["gethostbyaddr"], "gethostbyaddr",
                                         _is_local_host)


def _marked(wrapper, original):
    wrapper.__name__, wrapper.__doc__ = original.__name__, original.__doc__
    setattr(wrapper, MARK, True)
    return wrapper


def _guard_connect(original):
    def connect(self, address):
        if _leaves_host(self, address):
            _refuse_connection("connect", address)
        return original(self, address)
    return _marked(connect, original)


def _guard_connect_ex(original):
    def connect_ex(self, address):
        if _leaves_host(self, address):
            _record("connect_ex", _format(address))
            return _errno().ENETUNREACH
        return original(self, address)
    return _marked(connect_ex, original)


def _guard_sendto(original):
    def sendto(self, data, *flags_and_address):
        if flags_and_address and _leaves_host(self, flags_and_address[-1]):
            _refuse_connection("sendto", flags_and_address[-1])
        return original(self, data, *flags_and_address)
    return _marked(sendto, original)


def _guard_lookup(original, call, allowed):
    def lookup(host, *args, **kwargs):
        if not allowed(host):
            port = args[0] if args else kwargs.get("port")  # getaddrinfo's, to name the service
            _refuse_lookup(call, (host,) if port is None else (host, port))
        return original(host, *args, **kwargs)
    return _marked(lookup, original)


# --- what counts as this host ---------------------------------------------------------------------

def _leaves_host(sock, address):
    import socket

    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False  # AF_UNIX, AF_NETLINK, ...: never off this machine
    if not isinstance(address, tuple) or not address:
        return False  # not an address at all: the real call raises its own TypeError
    return not _is_local_host(address[0])


def _names_host(host):
    """A lookup that needs no DNS: no host, an address literal, or a name of this host."""
    return _is_local_host(host) or _parse_ip(host) is not None


def _is_local_host(host):
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if host is None or host in ("", "0.0.0.0", "::"):
        return True  # no host / the unspecified address: Linux connects these to this host
    if not isinstance(host, str):
        return False
    ip = _parse_ip(host)
    if ip is not None:
        return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback
    name = host.rstrip(".").lower()
    return name in _LOCAL_NAMES or name.endswith(".localhost") or name == os.uname().nodename.lower()


def _parse_ip(host):
    import ipaddress  # already loaded by site in the project's venvs; only needed on a socket call

    try:
        return ipaddress.ip_address(host if isinstance(host, str) else bytes(host).decode("ascii"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


# --- refusing and recording -----------------------------------------------------------------------

def _errno():
    import errno

    return errno


def _refuse_connection(call, address):
    where = _format(address)
    _record(call, where)
    code = _errno().ENETUNREACH
    raise OSError(code, f"{os.strerror(code)} (offline test guard: {call} to {where} refused)")


def _refuse_lookup(call, address):
    import socket

    where = _format(address)
    _record(call, where)
    raise socket.gaierror(socket.EAI_AGAIN, f"Temporary failure in name resolution "
                                            f"(offline test guard: {call} of {where} refused)")


def _format(address):
    if not isinstance(address, tuple):
        return repr(address)
    host = address[0].decode("ascii", "replace") if isinstance(address[0], bytes) else str(address[0])
    if len(address) < 2:
        return host
    return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"


def _record(call, address):
    """Append the attempt to the log. Opened per attempt, in append mode with one write, so
    that concurrent processes never interleave lines and nothing is held open."""
    path = os.environ.get(LOG_ENV) or _state["log"]
    if not path:
        return
    import json

    line = json.dumps({"call": call, "address": address, "pid": os.getpid(),
                       "test": os.environ.get("PYTEST_CURRENT_TEST", ""), "argv": sys.argv[:3]})
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        sys.stderr.write(f"offline test guard: cannot record {call} to {address} in {path}: {exc}\n")


# --- patch-on-import (used by sitecustomize) ------------------------------------------------------

def patched_socket_spec(path=None, target=None, log_path=None):
    """Spec of the ``socket`` module, found by the normal finders, whose loader patches the
    module right after it has executed. A meta-path finder returns it for "socket"."""
    _state["log"] = _state["log"] or log_path
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec("socket", path, target) if find_spec else None
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
            return spec
    return None


class _PatchingLoader:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):  # get_source etc., for tracebacks
        return getattr(self._inner, name)

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        if _state["originals"] is None:
            _patch(module)
