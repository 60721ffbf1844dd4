"""--precision for the paddle.inference engine: fp32, bf16 (oneDNN's bfloat16 pass) or auto.

No agreement threshold is asserted here: bf16's accuracy cost is a measured result on trained
models (benchmarks/bf16_accuracy.py), not a property of an 8-sentence fixture."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_env
from paddle_ner.errors import UsageError
from paddle_ner.predictor import Predictor, resolve_precision
from paddle_ner.provenance import has_bf16
from test_serve import serve_run

REPO = Path(__file__).resolve().parents[1]
HAS_BF16 = has_bf16()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return serve_run(tmp_path_factory)


@pytest.mark.parametrize("flags, auto", [(["avx2", "amx_bf16"], "bf16"), (["avx512_bf16"], "bf16"),
                                         (["avx2", "avx512f"], "fp32"), ([], "fp32")])
def test_auto_is_bf16_only_where_the_cpu_has_bf16(monkeypatch, flags, auto):
    import paddle_ner.provenance as provenance

    monkeypatch.setattr(provenance, "cpu_flags", lambda: flags)
    assert resolve_precision("auto") == auto
    assert resolve_precision("fp32") == "fp32"
    assert resolve_precision("auto", device="gpu") == "fp32"
    if auto == "fp32":
        with pytest.raises(UsageError, match="neither amx_bf16 nor avx512_bf16"):
            resolve_precision("bf16")
    else:
        assert resolve_precision("bf16") == "bf16"
    with pytest.raises(UsageError):
        resolve_precision("int8")


def test_auto_keeps_fp32_for_the_bigru_which_bf16_does_not_speed_up(monkeypatch):
    """Measured on trained models (README, Performance): bf16 leaves the BiGRU's GRU in fp32 and
    gains nothing there, so auto, the CLIs' default, picks bf16 only for the transformer encoders."""
    import paddle_ner.provenance as provenance
    from paddle_ner.models import MODEL_KEYS

    monkeypatch.setattr(provenance, "cpu_flags", lambda: ["amx_bf16"])
    assert {key: resolve_precision("auto", model=key) for key in MODEL_KEYS} == {
        key: "fp32" if key == "bigru_crf" else "bf16" for key in MODEL_KEYS}
    assert resolve_precision("bf16", model="bigru_crf") == "bf16"  # asked for, it is honoured
    from paddle_ner import predict
    from paddle_ner.serve import cli

    assert predict.build_parser().get_default("precision") == cli.build_parser().get_default("precision") == "auto"


def test_an_inference_engine_reads_the_model_from_the_export(run):
    from paddle_ner.predictor import InferenceEngine, export_model_key

    assert export_model_key(run / "export") == json.loads((run / "export" / "manifest.json").read_text())["model"]
    engine = InferenceEngine(run / "export", precision="auto")
    expected = resolve_precision("auto", model=export_model_key(run / "export"))
    assert engine.precision in (expected, "fp32")  # fp32: a Paddle build without the bf16 kernels


def build_has_bf16(run) -> bool:
    try:
        Predictor.from_run(run / "export", engine="inference", precision="bf16").tag(["张三"])
        return True
    except UsageError as err:
        assert "no oneDNN bf16 kernels" in str(err) and "--precision fp32" in str(err)
        return False


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no bf16 instructions")
def test_a_bf16_engine_runs_and_tags_every_character_or_is_refused_in_one_line(run):
    """paddlepaddle-gpu 2.6.2's bf16 pass inserts dequantize ops it has no CPU kernel for: bf16 is
    then refused in one line, and auto runs fp32."""
    auto = Predictor.from_run(run / "export", engine="inference", precision="auto")
    auto.tag(["张三在北京"])
    if not build_has_bf16(run):
        assert auto.engine.precision == "fp32"
        return
    from paddle_ner.predictor import export_model_key

    assert auto.engine.precision == resolve_precision("auto", model=export_model_key(run / "export"))
    fp32 = Predictor.from_run(run / "export", engine="inference", precision="fp32")
    bf16 = Predictor.from_run(run / "export", engine="inference", precision="bf16")
    assert (fp32.engine.precision, bf16.engine.precision) == ("fp32", "bf16")
    texts = ["张三在北京大学读书。", "中国人民银行副行长刘晓东表示", "好"]
    out = bf16(texts)
    assert [len(r["tags"]) for r in out] == [len(t) for t in texts]


def test_precision_is_refused_for_the_dynamic_engine(run):
    # run is a BiGRU, which the default engine (auto) tags in dygraph
    done = subprocess.run([sys.executable, "-m", "paddle_ner.predict", str(run), "--text", "张三", "--precision",
                           "bf16"], cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    # the last line (the gpu wheel's import may print a CUDA notice before it)
    assert done.stderr.splitlines()[-1] == ("--precision bf16 applies to the inference engine only (this model is "
                                            "tagged by the dynamic engine; add --engine inference)")


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no bf16 instructions")
def test_the_bf16_benchmark_scores_fp32_as_evaluate_does(run, tmp_path):
    if not build_has_bf16(run):
        pytest.skip("this Paddle build has no oneDNN bf16 kernels")
    gold = REPO / "data" / "sample" / "test.txt"
    out = tmp_path / "bf16.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bf16_accuracy.py"), str(run), "--file", str(gold),
                           "--out", str(out)], cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    row = json.loads(out.read_text(encoding="utf-8"))["runs"][str(run)]
    evaluated = subprocess.run([sys.executable, "-m", "paddle_ner.evaluate", str(run), "--file", str(gold), "--json"],
                               cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=600)
    assert row["fp32"]["micro_f1"] == json.loads(evaluated.stdout)["micro"]["f1"]
    assert 0 <= row["tag_agreement"] <= 1 and row["fp32"]["chars_per_s"] > 0 and row["bf16"]["chars_per_s"] > 0
    assert row["meets_default_rule"] == (abs(row["f1_change_points"]) <= 0.1 and row["tag_agreement"] >= 0.995)


def evaluated(argv, capsys) -> dict:
    from paddle_ner import evaluate as evaluate_cli

    assert evaluate_cli.main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_scores_an_export_as_it_will_be_served(run, capsys):
    """--engine inference: the export through paddle.inference, at the precision auto picks for
    the model (the BiGRU: fp32), named in the report; fp32 scores equal the saved model's."""
    gold = str(REPO / "data" / "sample" / "test.txt")
    dynamic = evaluated([str(run), "--file", gold], capsys)
    assert dynamic["engine"] == {"name": "dynamic", "precision": "fp32"}
    auto = evaluated([str(run), "--file", gold, "--engine", "inference"], capsys)
    from paddle_ner.predictor import export_model_key

    assert auto["engine"]["precision"] in (resolve_precision("auto", model=export_model_key(run / "export")), "fp32")
    fp32 = evaluated([str(run), "--file", gold, "--engine", "inference", "--precision", "fp32"], capsys)
    assert fp32["engine"] == {"name": "inference", "precision": "fp32"}
    assert (fp32["micro"], fp32["batch_averaged"]) == (dynamic["micro"], dynamic["batch_averaged"])
    if HAS_BF16 and build_has_bf16(run):
        bf16 = evaluated([str(run), "--file", gold, "--engine", "inference", "--precision", "bf16"], capsys)
        assert bf16["engine"] == {"name": "inference", "precision": "bf16"} and bf16["micro"]["n_gold"] == \
            dynamic["micro"]["n_gold"]


def test_evaluate_refuses_bf16_for_the_saved_model(run):
    done = subprocess.run([sys.executable, "-m", "paddle_ner.evaluate", str(run), "--precision", "bf16"], cwd=REPO,
                          env=make_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--engine inference only" in done.stderr and "Traceback" not in done.stderr


def test_the_prediction_batch_is_the_measured_best_for_the_model(run):
    """The fastest batch measured by make bench (README, Performance): 16 sentences for the
    full-size encoders on CPU, 64 for the BiGRU; unmeasured GPUs keep 64. It is the default of
    Predictor.from_run and predict, and of dev evaluation where train.eval_batch_size is 0."""
    from paddle_ner import predict
    from paddle_ner.config import load_config, model_config_path
    from paddle_ner.models import MODEL_KEYS
    from paddle_ner.models.registry import predict_batch_size
    from paddle_ner.scoring import eval_batch_size

    assert {key: predict_batch_size(key) for key in MODEL_KEYS} == {
        key: 64 if key == "bigru_crf" else 16 for key in MODEL_KEYS}
    assert {predict_batch_size(key, "gpu:0") for key in MODEL_KEYS} == {64}
    assert predict.build_parser().get_default("batch_size") is None
    assert Predictor.from_run(run).batch_size == 64 and Predictor.from_run(run, batch_size=8).batch_size == 8
    for key in MODEL_KEYS:
        cfg = load_config(model_config_path(key))
        assert cfg.train.eval_batch_size == 0 and eval_batch_size(cfg, "cpu") == predict_batch_size(key)
        cfg.train.eval_batch_size = 7
        assert eval_batch_size(cfg, "cpu") == 7
