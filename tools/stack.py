"""Which PaddleNLP stack goes with the Paddle that is already installed (AI Studio images ship one).

    python tools/stack.py constraints [--paddle VERSION]
    python tools/stack.py check [--paddle VERSION] [--paddlenlp VERSION]

`constraints` prints the constraints file (relative to the repository root) that pins PaddleNLP
and its fragile dependencies but leaves Paddle as installed, e.g. constraints/keep-paddle2.6.txt;
exits 1, printing nothing, when no paddlepaddle or paddlepaddle-gpu is installed (install a
profile then: constraints/gpu.txt or cpu.txt), and 2 with one line on stderr for a Paddle that
no measured stack supports. `check`, after the install, exits 0 for a measured-good
Paddle/PaddleNLP pair, 1 if either is missing, 2 otherwise. Versions come from package metadata;
paddle is never imported. Standard library only; runs on Python 3.7+.

Measured 2026-12-01, Intel Xeon (2 cores), Debian 12 /usr/bin/python3.11, CPU wheels, one fresh
venv per pair: `pip install paddlepaddle==P` first (the "preinstalled" Paddle), then paddlenlp
with aistudio-sdk==0.2.6 datasets==2.19.2 pyarrow==16.1.0 numpy==1.26.4 seqeval==1.2.2 (and
huggingface_hub==0.25.2 for paddlenlp 2.8.1), then `import paddle, paddlenlp,
paddlenlp.transformers` and tests/test_{models,crf,train}.py (110 tests):

    Paddle \\ paddlenlp      2.8.1          3.0.0b4
    2.6.2                  110 passed     import fails: AttributeError: module 'paddle' has
                                          no attribute 'float8_e5m2' (22 failed, 88 passed)
    3.0.0, 3.2.2, 3.3.1    110 passed     110 passed
    3.1.1                  not tried      110 passed

pip resolves every pair without complaint (no paddlenlp declares a Paddle requirement; `pip
check` is clean), so only this table stops a wrong one. Paddle 3.x gets paddlenlp 3.0.0b4, the
cpu profile's stack, which CI runs; 2.8.1 also passed there, so `check` accepts it. Only 2.6.2
of the 2.6 series is still on PyPI; 2.6.0/2.6.1 are assumed to behave like it.
"""
import argparse
import sys

# (lowest Paddle, first Paddle not covered, constraints file, paddlenlp versions that passed;
# the first is the one that file pins).
SUPPORTED = [
    ((2, 6, 0), (2, 7, 0), "constraints/keep-paddle2.6.txt", ("2.8.1",)),
    ((3, 0, 0), (3, 4, 0), "constraints/keep-paddle3.txt", ("3.0.0b4", "2.8.1")),
]
# numpy 1.26.4, pinned by every constraints file, has no release for Python 3.8 or older.
PYTHON_MIN = (3, 9)
PADDLE_DISTS = ("paddlepaddle-gpu", "paddlepaddle")
FIX = ("install a supported Paddle (pip install paddlepaddle-gpu==2.6.2) or a whole profile "
       "(make install PROFILE=gpu)")


def release(version):
    """'2.6.2.post120' -> (2, 6, 2); '3.0.0b4' -> (3, 0, 0): the leading numbers, padded to 3."""
    parts = []
    for piece in version.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):  # '0b4', '0rc1': a pre-release tag ends the release part
            break
    return tuple((parts + [0, 0, 0])[:3])


def dotted(version):
    return ".".join(str(n) for n in version)


def dist_version(name):
    """Installed version of distribution ``name``, or None."""
    try:
        from importlib import metadata  # Python 3.8+
    except ImportError:  # Python 3.7
        import pkg_resources

        try:
            return pkg_resources.get_distribution(name).version
        except pkg_resources.DistributionNotFound:
            return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def fail(line):
    sys.stderr.write("stack.py: " + line + "\n")
    raise SystemExit(2)


def installed_paddle():
    """Version of the installed paddlepaddle(-gpu), or None."""
    found = {}
    for name in PADDLE_DISTS:
        if dist_version(name):
            found[name] = dist_version(name)
    if len(set(found.values())) > 1:
        fail("both " + " and ".join("%s %s" % item for item in sorted(found.items()))
             + " are installed and overwrite each other's files; uninstall both, then " + FIX)
    return next(iter(found.values()), None)


def row_for(paddle):
    """The SUPPORTED row covering Paddle version string ``paddle``; SystemExit(2) if none."""
    for row in SUPPORTED:
        if row[0] <= release(paddle) < row[1]:
            return row
    ranges = ", ".join("%s <= Paddle < %s" % (dotted(lo), dotted(hi)) for lo, hi, _, _ in SUPPORTED)
    fail("Paddle %s is not supported (measured: %s); %s." % (paddle, ranges, FIX))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    constraints = sub.add_parser("constraints", help="print the constraints file for this Paddle")
    constraints.add_argument("--paddle", help="Paddle version (default: the installed one)")
    check = sub.add_parser("check", help="is the installed paddle/paddlenlp pair supported?")
    check.add_argument("--paddle", help="Paddle version (default: the installed one)")
    check.add_argument("--paddlenlp", help="PaddleNLP version (default: the installed one)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: constraints or check")

    paddle = args.paddle or installed_paddle()
    if paddle is None:
        if args.command == "check":
            sys.stderr.write("stack.py: no paddlepaddle or paddlepaddle-gpu is installed\n")
        return 1
    _, _, path, paddlenlps = row_for(paddle)
    if args.command == "constraints":
        if sys.version_info[:2] < PYTHON_MIN:
            fail("Python %d.%d cannot install %s (numpy 1.26.4 needs Python >= %s); use an "
                 "environment with a newer Python" % (sys.version_info[:2] + (path, dotted(PYTHON_MIN))))
        print(path)
        return 0
    paddlenlp = args.paddlenlp or dist_version("paddlenlp")
    if paddlenlp is None:
        sys.stderr.write("stack.py: paddlenlp is not installed; pip install -c %s paddlenlp\n" % path)
        return 1
    if paddlenlp not in paddlenlps:
        fail("paddlenlp %s with Paddle %s is not a measured pair; this Paddle needs paddlenlp %s: "
             "pip install -c %s paddlenlp" % (paddlenlp, paddle, " or ".join(paddlenlps), path))
    print("stack.py: Paddle %s + paddlenlp %s is a measured pair (%s)" % (paddle, paddlenlp, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
