"""MKL's AMD code path: set before Paddle loads, recorded, never over a user's value, and
numerically the same training step."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SAMPLE_DIR
from paddle_ner import mkl_dispatch

AMD = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n"
INTEL = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n"


@pytest.fixture
def cpuinfo(tmp_path):
    def make(text):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return path
    return make


def test_amd_gets_the_avx2_path(cpuinfo):
    environ = {}
    mkl_dispatch.fix_dispatch(environ, cpuinfo(AMD))
    assert environ == {"MKL_DEBUG_CPU_TYPE": "5"}
    assert mkl_dispatch.in_force(environ, cpuinfo(AMD)) == {
        "cpu_vendor": "AuthenticAMD", "MKL_DEBUG_CPU_TYPE": "5", "PADDLE_NER_MKL_DISPATCH": None}


@pytest.mark.parametrize("text", [INTEL, "processor\t: 0\n", None], ids=["intel", "no-vendor", "no-file"])
def test_other_processors_are_left_alone(text, cpuinfo, tmp_path):
    environ = {}
    mkl_dispatch.fix_dispatch(environ, cpuinfo(text) if text else tmp_path / "absent")
    assert environ == {}


def test_a_users_value_wins_and_off_disables_the_fix(cpuinfo):
    environ = {"MKL_DEBUG_CPU_TYPE": "4"}
    mkl_dispatch.fix_dispatch(environ, cpuinfo(AMD))
    assert environ == {"MKL_DEBUG_CPU_TYPE": "4"}
    for off in ("off", "OFF", " off "):
        environ = {"PADDLE_NER_MKL_DISPATCH": off}
        mkl_dispatch.fix_dispatch(environ, cpuinfo(AMD))
        assert "MKL_DEBUG_CPU_TYPE" not in environ


def test_a_resumed_run_is_told_when_the_setting_changed():
    recorded = {"cpu_vendor": "AuthenticAMD", "MKL_DEBUG_CPU_TYPE": "5", "PADDLE_NER_MKL_DISPATCH": None}
    assert mkl_dispatch.changed_since(recorded, {"MKL_DEBUG_CPU_TYPE": "5"}) is None
    assert mkl_dispatch.changed_since(None, {}) is None  # a run from before the record existed
    line = mkl_dispatch.changed_since(recorded, {})
    assert line == ("MKL_DEBUG_CPU_TYPE was '5' when this run started and is None now: MKL takes another code path, "
                    "so the resumed steps are not bit-identical to an uninterrupted run")


# A child process whose /proc/cpuinfo reads as AMD: mkl_dispatch is loaded first from its file with
# CPUINFO pointing at a fake, so that the package's own import (and so the fix) uses it.
FAKE_AMD_CHILD = """
import importlib.util, json, os, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("paddle_ner.mkl_dispatch", {module!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.CPUINFO = Path({cpuinfo!r})
sys.modules["paddle_ner.mkl_dispatch"] = module
import paddle_ner
seen = {{"before_paddle": os.environ.get("MKL_DEBUG_CPU_TYPE"), "paddle_loaded": "paddle" in sys.modules}}
from paddle_ner import train
code = train.main(sys.argv[1:])
print(json.dumps(seen))
sys.exit(code)
"""


def child_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_DEBUG_CPU_TYPE", "PADDLE_NER_MKL_DISPATCH")}
    env.update(extra)
    return env


@pytest.mark.parametrize("setting", ["fixed", "user", "off"])
def test_the_train_entry_point_sets_it_before_paddle_and_records_it(setting, cpuinfo, tmp_path):
    extra = {"fixed": {}, "user": {"MKL_DEBUG_CPU_TYPE": "2"}, "off": {"PADDLE_NER_MKL_DISPATCH": "off"}}[setting]
    expected = {"fixed": "5", "user": "2", "off": None}[setting]
    child = FAKE_AMD_CHILD.format(module=str(REPO / "paddle_ner" / "mkl_dispatch.py"), cpuinfo=str(cpuinfo(AMD)))
    run = tmp_path / "run"
    cmd = [sys.executable, "-c", child, "--model", "bigru_crf", "--train", str(SAMPLE_DIR / "train.txt"),
           "--dev", str(SAMPLE_DIR / "dev.txt"), "--output", str(run), "--device", "cpu", "--max-steps", "1",
           "--max-train-samples", "16", "--set", "model.emb_dim=16", "--set", "model.hidden_size=16",
           "--set", "model.bigram_dim=0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=child_env(**extra), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"before_paddle": expected, "paddle_loaded": False}
    recorded = json.loads((run / "run.json").read_text())["mkl_dispatch"]
    assert recorded == {"cpu_vendor": "AuthenticAMD", "MKL_DEBUG_CPU_TYPE": expected,
                        "PADDLE_NER_MKL_DISPATCH": extra.get("PADDLE_NER_MKL_DISPATCH")}


def test_importing_the_package_acts_on_this_machine_before_paddle_loads():
    probe = ("import os, sys, paddle_ner; print(os.environ.get('MKL_DEBUG_CPU_TYPE')); "
             "print('paddle' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=child_env(),
                          timeout=120, check=True)
    value, paddle_loaded = done.stdout.split()
    amd = mkl_dispatch.cpu_vendor() == "AuthenticAMD"
    assert (value, paddle_loaded) == ("5" if amd else "None", "False")


STEP = """
import sys
import numpy as np
import paddle
from paddle_ner.config import ModelConfig
from paddle_ner.models import build_model
from paddle_ner.models.standin import write_standin

paddle.set_device("cpu")
from paddle.base import core
core.set_num_threads(2)
labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
paddle.seed(3)
tagger, _ = build_model(ModelConfig(name="bert", pretrained=sys.argv[2], dropout=0.0), labels)
tagger.train()
for layer in tagger.sublayers():  # no dropout: the two processes must see the same function
    if isinstance(layer, paddle.nn.Dropout):
        layer.p = 0.0
rng = np.random.default_rng(0)
ids = paddle.to_tensor(rng.integers(1, 100, size=(4, 14)), dtype="int64")
lengths = paddle.to_tensor([12, 9, 5, 12], dtype="int64")
tags = paddle.to_tensor(rng.integers(0, len(labels), size=(4, 12)), dtype="int64")
loss = tagger.loss(ids, lengths, tags)
loss.backward()
out = {"loss": loss.numpy()}
out.update({name: p.grad.numpy() for name, p in tagger.named_parameters() if p.grad is not None})
np.savez(sys.argv[1], **out)
"""


def test_one_training_step_agrees_with_and_without_the_variable(tmp_path, standin):
    source = standin("bert")
    results = {}
    for name, extra in (("with", {"MKL_DEBUG_CPU_TYPE": "5"}), ("without", {"PADDLE_NER_MKL_DISPATCH": "off"})):
        out = tmp_path / f"{name}.npz"
        done = subprocess.run([sys.executable, "-c", STEP, str(out), str(source)], capture_output=True, text=True,
                              env=child_env(**extra), timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        results[name] = dict(np.load(out))
    assert set(results["with"]) == set(results["without"]) and len(results["with"]) > 10
    for key, value in results["with"].items():
        np.testing.assert_allclose(value, results["without"][key], rtol=1e-4, atol=1e-5, err_msg=key)
