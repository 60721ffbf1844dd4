"""Start-up hook of the Python processes the test suite spawns (this directory is put first on
PYTHONPATH for the session by tests/offline_plugin.py).

When $PADDLE_NER_TEST_OFFLINE_LOG names a log file, the offline guard
(paddle_ner_offline_guard.py, next to this file) patches ``socket`` as it is imported. Then the
sitecustomize this file shadows (Debian's /usr/lib/python3.11/sitecustomize.py for instance) runs,
as it would have without us. Start-up cost: this file only; it uses os and sys, loaded already.
"""
import os
import sys

LOG_ENV = "PADDLE_NER_TEST_OFFLINE_LOG"


class _GuardSocketOnImport:
    """Meta-path finder that hands the import of ``socket`` to the guard, which patches it.
    The guard module is loaded only then: a child that never imports socket never loads it."""

    def find_spec(self, name, path=None, target=None):
        if name != "socket":
            return None
        sys.meta_path.remove(self)
        import paddle_ner_offline_guard

        return paddle_ner_offline_guard.patched_socket_spec(path, target, os.environ.get(LOG_ENV))


def _install_guard():
    if not os.environ.get(LOG_ENV):
        return
    if "socket" in sys.modules:  # imported by a .pth file, say: patch it now
        import paddle_ner_offline_guard

        paddle_ner_offline_guard.install(os.environ[LOG_ENV])
    else:
        sys.meta_path.insert(0, _GuardSocketOnImport())


def _shadowed_sitecustomize():
    """Path of the first sitecustomize.py on sys.path after this directory, or None."""
    here = os.path.dirname(os.path.abspath(__file__))
    seen_here = False
    for entry in sys.path:
        if os.path.abspath(entry or os.curdir) == here:
            seen_here = True  # may appear more than once (nested test runs prepend it again)
            continue
        candidate = os.path.join(entry or os.curdir, "sitecustomize.py")
        if seen_here and os.path.isfile(candidate):
            return candidate
    return None


def _chain():
    path = _shadowed_sitecustomize()
    if path is None:
        return
    # It becomes *the* sitecustomize module, as if it had been imported instead of this file.
    module = type(sys)("sitecustomize")
    module.__file__ = path
    sys.modules["sitecustomize"] = module
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    exec(code, module.__dict__)


_install_guard()  # first, so that a failing chained sitecustomize cannot leave a child unguarded
_chain()
