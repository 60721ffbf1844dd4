"""tools/stack.py: the measured Paddle -> PaddleNLP table, its command line, the constraint files
it names, and that the environment running these tests matches it. Offline and fast: versions
come from package metadata, and paddle is never imported."""
import ast
import importlib.util
import subprocess
import sys

import pytest

from conftest import REPO

SCRIPT = REPO / "tools" / "stack.py"
_spec = importlib.util.spec_from_file_location("stack", SCRIPT)
stack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stack)

KEEP26, KEEP3 = "constraints/keep-paddle2.6.txt", "constraints/keep-paddle3.txt"
# (Paddle, paddlenlp, works?) as measured; see the docstring of tools/stack.py.
MEASURED = [
    ("2.6.2", "2.8.1", True),
    ("2.6.2", "3.0.0b4", False),  # import paddlenlp: module 'paddle' has no attribute 'float8_e5m2'
    ("3.3.1", "3.0.0b4", True),
    ("3.3.1", "2.8.1", True),
    ("3.0.0", "3.0.0b4", True),
    ("3.1.1", "3.0.0b4", True),
    ("3.2.2", "3.0.0b4", True),
    ("3.0.0", "2.8.1", True),
    ("3.2.2", "2.8.1", True),
]


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def pins(path):
    """{name: version} of the ``name==version`` lines of a constraints file."""
    out = {}
    for line in (REPO / path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and name and version, f"{path}: not a name==version pin: {line!r}"
            out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


@pytest.mark.parametrize("paddle, paddlenlp, works", MEASURED)
def test_measured_pairs_are_judged_as_measured(paddle, paddlenlp, works):
    result = run("check", "--paddle", paddle, "--paddlenlp", paddlenlp)
    if works:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 1
        assert f"paddlenlp {paddlenlp} with Paddle {paddle}" in result.stderr


@pytest.mark.parametrize("paddle, expected", [
    ("2.6.2", KEEP26), ("2.6.2.post120", KEEP26), ("2.6.0", KEEP26),
    ("3.0.0", KEEP3), ("3.1.1", KEEP3), ("3.2.2", KEEP3), ("3.3.1", KEEP3), ("3.0.0rc1", KEEP3),
])
def test_constraints_for_a_supported_paddle(paddle, expected):
    result = run("constraints", "--paddle", paddle)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected + "\n", "")


@pytest.mark.parametrize("paddle", ["2.5.2", "1.8.5", "4.0.0", "3.4.0", "2.7.0", "0.0.0"])
@pytest.mark.parametrize("command", ["constraints", "check"])
def test_unsupported_paddle_exits_2_with_one_line(command, paddle):
    result = run(command, "--paddle", paddle)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert f"Paddle {paddle} is not supported" in line
    assert "2.6.0 <= Paddle < 2.7.0, 3.0.0 <= Paddle < 3.4.0" in line
    assert "pip install paddlepaddle-gpu==2.6.2" in line and "make install PROFILE=gpu" in line


@pytest.mark.parametrize("version, expected", [
    ("2.6.2", (2, 6, 2)), ("2.6.2.post120", (2, 6, 2)), ("3.0.0b4", (3, 0, 0)),
    ("3.0.0rc1", (3, 0, 0)), ("3.1", (3, 1, 0)), ("0.0.0", (0, 0, 0)), ("3.3.1.dev20251201", (3, 3, 1)),
])
def test_release_numbers(version, expected):
    assert stack.release(version) == expected


@pytest.mark.parametrize("row", stack.SUPPORTED, ids=lambda row: row[2])
def test_every_named_constraints_file_exists_and_keeps_paddle(row):
    _, _, path, paddlenlps = row
    assert (REPO / path).is_file(), path
    pinned = pins(path)
    assert pinned["paddlenlp"] == paddlenlps[0]
    assert not {"paddlepaddle", "paddlepaddle-gpu"} & set(pinned), f"{path} must not pin Paddle"


@pytest.mark.parametrize("profile, paddle_dist, keep", [
    ("cpu.txt", "paddlepaddle", KEEP3), ("gpu.txt", "paddlepaddle-gpu", KEEP26)])
def test_profiles_agree_with_the_table(profile, paddle_dist, keep):
    """Each install profile pins a Paddle that the table maps to the keep file holding the same
    pins, so a profile install and a keep-the-image's-Paddle install end up with one stack."""
    profile_pins = pins(f"constraints/{profile}")
    assert stack.row_for(profile_pins[paddle_dist])[2] == keep
    for name, version in pins(keep).items():
        assert profile_pins.get(name) == version, (profile, name)


def test_installed_stack_matches_the_table():
    """The environment running these tests is one the table supports, with its pins."""
    paddle = stack.installed_paddle()
    if paddle is None:
        pytest.skip("no paddlepaddle(-gpu) installed here")
    result = run("constraints")
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert path == stack.row_for(paddle)[2]
    checked = run("check")
    assert checked.returncode == 0, checked.stderr
    if stack.dist_version("paddlenlp") != pins(path)["paddlenlp"]:
        pytest.skip("another measured paddlenlp than the one the constraints file pins")
    for name, version in pins(path).items():
        installed = stack.dist_version(name)
        assert installed == version, f"{name}: installed {installed}, {path} pins {version}"


def test_runs_on_python_37():
    """AI Studio images may run an old Python: nothing newer than 3.7 syntax."""
    ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 7))


def test_no_command_is_a_usage_error():
    assert run().returncode == 2
