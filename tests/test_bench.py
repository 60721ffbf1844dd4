"""The benchmark runs end to end (no timing is asserted: figures belong in its report)."""
import json

from paddle_ner import bench


def test_bench_reports_every_measurement_and_engines_agree(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--models", "bert", "bigru_crf", "--sizes", "shrunk", "--steps", "1", "--predict-sentences",
                       "12", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in ("train_speedup_vs_pad128", "crf_share_of_step", "inference_speedup", "pad_waste", "command",
                "commit", "machine"):
        assert key in report
    assert 0 <= report["pad_waste"] < report["pad_waste_pad128"] < 1
    for row in report["rows"]:
        assert row["predict"]["tags_agree"], row["model"]
        assert row["train"]["ours"]["tokens_per_s"] > 0 and row["peak_rss_mb"] > 0
    assert "| bert | shrunk |" in capsys.readouterr().out
