"""benchmarks/denormal_census.py and benchmarks/profile_training.py: the parts that decide what
their figures mean. The census must see denormal gradients where a model makes them (a CRF
whose emissions are saturated on all-O tags: the collapse ``make bench`` once trained into)
and none where it does not."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_env

REPO = Path(__file__).resolve().parents[1]
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_count_tells_denormals_from_zeros_and_normals():
    # built from bits: under DAZ (set by earlier tests in this process) a float literal could read as 0
    values = np.array([0x000AE398, 0x800002CA, 0, 0x80000000, 0x00800000, 0x3F800000, 0x00800001],
                      dtype=np.uint32).view(np.float32)  # 2 denormals, +0, -0, 3 normals
    assert load("denormal_census").count(values) == (2, 2, 7)


def test_profile_families_pair_paddle_and_torch_names():
    fam = load("profile_training").family
    assert fam("Global_MatmulGradNode") == fam("matmul") == fam("aten::mm") == fam("aten::addmm") == "gemm (fwd + bwd)"
    assert fam("Global_LayerNormGradNode") == fam("aten::native_layer_norm") == "layer norm"
    assert fam("dropout") == fam("aten::bernoulli_") == "dropout"
    assert fam("adamw_") == fam("aten::addcdiv_") == "optimizer"
    assert fam("Global_ReshapeGradNode") == "copy / layout"


def _tiny_run(directory: Path, o_bias: float) -> Path:
    import paddle

    from paddle_ner.config import ModelConfig
    from paddle_ner.models import build_model, save_model

    cfg = ModelConfig(name="bigru_crf", emb_dim=8, hidden_size=8, max_seq_len=64, window_overlap=8, dropout=0.0)
    paddle.seed(0)
    tagger, mapper = build_model(cfg, LABELS, train_chars=[list("张三在北京工作")])
    bias = np.full(len(LABELS), -o_bias / 2, dtype=np.float32)
    bias[0] = o_bias / 2
    tagger.fc.bias.set_value(bias)  # emissions: O ahead of every other tag by o_bias
    save_model(directory / "model", tagger, mapper, cfg, LABELS)
    return directory


@pytest.mark.parametrize("o_bias,denormals", [(0.0, False), (100.0, True)])
def test_census_finds_denormal_gradients_only_where_the_model_makes_them(tmp_path, o_bias, denormals):
    run = _tiny_run(tmp_path / "run", o_bias)
    train = tmp_path / "train.txt"
    train.write_text("".join("".join(f"{c}\tO\n" for c in "张三在北京工作") + "\n" for _ in range(8)), encoding="utf-8")
    out = tmp_path / "census.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "denormal_census.py"), str(run), "--train",
                           str(train), "--batches", "2", "--batch-size", "4", "--out", str(out)],
                          cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())["runs"][str(run)]["trained"]
    assert result["batches"] == 2 and result["values"] > 0
    assert (result["denormal"] > 0) is denormals
    if denormals:  # where they arise: the emissions' gradient, e^-100 of the non-O tags
        assert result["by_tensor"]["grad of the emissions"]["denormal"] > 0


def test_bias_gradient_ab_times_both_linears_on_the_same_batches(tmp_path):
    """The A/B runs both variants on the same model and batches and reports each pass."""
    out = tmp_path / "ab.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bias_gradient_ab.py"), "--size", "shrunk",
                           "--steps", "1", "--passes", "2", "--out", str(out)], cwd=REPO, env=make_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert set(report["seconds_per_step"]) == {"nn.Linear", "GemmBiasLinear"}
    assert all(len(v) == 2 and min(v) > 0 for v in report["seconds_per_step"].values())
    assert "GemmBiasLinear / nn.Linear" in done.stdout and report["tokens_per_step"] > 0
