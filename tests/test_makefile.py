"""The Makefile keeps the profile a venv holds: no target but `make install` swaps it.

Checked with `make -n` (print, do not run) against fake venvs, so nothing is installed."""
import os
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
