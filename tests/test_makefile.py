"""The Makefile keeps the profile a venv holds: no target but `make install` swaps it; and
`make install` refuses a Python its profile's pins do not install on, before pip runs.

Checked with `make -n` (print, do not run) against fake venvs, and with fake interpreters that
tools/install.sh refuses (or that fail at `-m venv`), so nothing is installed."""
import os
import re
import subprocess
import time

import pytest

from conftest import REPO, make_env

pytestmark = pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                                reason="make is not installed")


def make(*args):
    env = make_env()
    return subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, env=env)


@pytest.fixture
def venv(tmp_path):
    """A fake venv whose marker says it holds ``profile`` built with ``python``, newer than
    setup.py and the constraints (as right after an install)."""

    def holding(profile, python):
        (tmp_path / "bin").mkdir(exist_ok=True)
        mark = tmp_path / ".paddle-ner-profile"
        mark.write_text(f"{profile} {python}\n")
        future = time.time() + 3600
        os.utime(mark, (future, future))
        return str(tmp_path)

    return holding


@pytest.mark.parametrize("target", ["test", "demo", "reproduce", "bench"])
def test_every_target_uses_the_installed_gpu_profile_without_reinstalling(venv, target):
    path = venv("gpu", "/usr/bin/python3.11")
    out = make(target, f"VENV={path}")
    assert out.returncode == 0, out.stderr
    assert "tools/install.sh" not in out.stdout
    assert f"{path}/bin/python -m " in out.stdout or f"{path}/bin/python benchmarks/" in out.stdout


def test_a_fresh_clone_installs_the_default_profile_first(tmp_path):
    out = make("test", f"VENV={tmp_path / 'none'}")
    assert out.returncode == 0, out.stderr
    assert f"tools/install.sh cpu {tmp_path / 'none'} python3" in out.stdout


def test_another_profile_is_refused_by_targets_but_installed_by_make_install(venv):
    path = venv("cpu", "python3")
    out = make("reproduce", "PROFILE=gpu", f"VENV={path}")
    assert out.returncode == 2
    assert f"{path} holds the cpu profile, not PROFILE=gpu" in out.stderr
    assert "make install PROFILE=gpu" in out.stderr
    install = make("install", "PROFILE=gpu", "PYTHON=/usr/bin/python3.11", f"VENV={path}")
    assert install.returncode == 0 and f"tools/install.sh gpu {path} /usr/bin/python3.11" in install.stdout


def test_a_changed_setup_py_updates_the_same_profile_and_interpreter(venv):
    path = venv("gpu", "/usr/bin/python3.11")
    os.utime(os.path.join(path, ".paddle-ner-profile"), (0, 0))  # older than setup.py
    out = make("test", f"VENV={path}")
    assert f"tools/install.sh gpu {path} /usr/bin/python3.11" in out.stdout


def test_reproduce_passes_every_documented_variable(venv):
    path = venv("gpu", "/usr/bin/python3.11")
    out = make("reproduce", f"VENV={path}", "PRETRAINED_DIR=ckpt", "DEVICE=cpu", "MAX_STEPS=2", "MAX_TRAIN_SAMPLES=9",
               "DATA_DIR=d", "RUNS=r", "RESULTS=s", "DATASET=sample", "MODELS=bert", "SEEDS=1 2")
    command = " ".join(out.stdout.replace("\\\n", " ").split())
    for flag in ("--pretrained-dir ckpt", "--device cpu", "--max-steps 2", "--max-train-samples 9", "--data-dir d",
                 "--runs r", "--results s", "--dataset sample", "--models bert", "--seeds 1 2"):
        assert flag in command, flag


# tools/install.sh refuses an interpreter outside the profile's "# python: LOW-HIGH" range
# (constraints/<profile>.txt) with one line and exit 2, before it removes, creates or pip-installs
# anything. A fake interpreter stands in for each version, so no other Python need exist here.

INSTALL = os.path.join(REPO, "tools", "install.sh")


@pytest.fixture
def fake_python(tmp_path):
    """``fake_python("3.10")`` -> path of a script that answers the version query as that
    Python and fails anything else (``-m venv``, ``-m pip``), logging every call."""

    def make_fake(version):
        path = tmp_path / f"python{version}"
        path.write_text("#!/bin/sh\n"
                        f'echo "$*" >> "{tmp_path}/calls.log"\n'
                        f'case "$*" in *version_info*) echo {version} ;; *) exit 1 ;; esac\n')
        path.chmod(0o755)
        return str(path)

    return make_fake


def calls(tmp_path):
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def python_range(profile):
    with open(os.path.join(REPO, "constraints", f"{profile}.txt"), encoding="utf-8") as f:
        lines = [line.split(":", 1)[1].strip() for line in f if line.startswith("# python:")]
    assert len(lines) == 1, f"constraints/{profile}.txt needs exactly one '# python: LOW-HIGH' line"
    low, high = lines[0].split("-")
    return low, high


@pytest.mark.parametrize("profile, version", [("cpu", "3.10"), ("cpu", "3.9"), ("cpu", "3.13"), ("gpu", "3.8"),
                                              ("gpu", "3.13")])
def test_install_refuses_an_unsupported_python_before_pip(tmp_path, fake_python, profile, version):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "keep").write_text("an existing venv is left alone")
    python = fake_python(version)
    out = subprocess.run([INSTALL, profile, str(venv), python], cwd=REPO, capture_output=True, text=True,
                         env=make_env())
    low, high = python_range(profile)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert f"the {profile} profile installs on Python {low}-{high} (constraints/{profile}.txt), " \
           f"not Python {version}" in out.stderr
    assert "PYTHON=python3.11" in out.stderr
    if profile == "cpu" and version in ("3.9", "3.10"):  # AI Studio's route: a Paddle 3, pinned by tools/stack.py
        assert "pip install paddlepaddle==3.0.0" in out.stderr and "tools/stack.py constraints" in out.stderr
    assert len(calls(tmp_path)) == 1 and "version_info" in calls(tmp_path)[0]  # no venv, no pip
    assert (venv / "keep").exists()


def test_make_install_with_an_unsupported_python_stops_with_that_line(tmp_path, fake_python):
    venv = tmp_path / "venv"
    out = subprocess.run(["make", "install", f"PYTHON={fake_python('3.10')}", f"VENV={venv}"], cwd=REPO,
                         capture_output=True, text=True, env=make_env())
    assert out.returncode == 2
    refusals = [line for line in out.stderr.splitlines() if line.startswith("install: ")]
    assert len(refusals) == 1 and "installs on Python 3.11-3.12" in refusals[0], out.stderr
    assert "ResolutionImpossible" not in out.stderr and not venv.exists()


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_install_accepts_both_ends_of_the_range(tmp_path, fake_python, profile):
    for version in python_range(profile):
        out = subprocess.run([INSTALL, profile, str(tmp_path / "venv"), fake_python(version)], cwd=REPO,
                             capture_output=True, text=True, env=make_env())
        assert "installs on Python" not in out.stderr
        assert any(call.startswith("-m venv") for call in calls(tmp_path)), out.stderr  # went on to build it
        (tmp_path / "calls.log").unlink()


def test_setup_py_allows_every_profile_python():
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
        floor = re.search(r'python_requires=">=(\d+\.\d+)"', f.read()).group(1)
    lows = [python_range(profile)[0] for profile in ("cpu", "gpu")]
    assert floor == min(lows, key=lambda v: tuple(map(int, v.split(".")))), (floor, lows)
