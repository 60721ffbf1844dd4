"""Turn a finished training run into a committed result: a JSON with both metric conventions,
per-type rows, time, epochs, the exact command, commit and data checksums, plus the run's
learning-curve PNG. No weights are copied.

    python benchmarks/baseline_result.py runs/reproduce/msra_sighan/bigru_crf-seed1 results/baseline_msra_sighan_cpu
"""
import json
import shutil
import sys
from pathlib import Path


def main(run_dir: str, out_stem: str) -> None:
    run = Path(run_dir)
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    info = json.loads((run / "run.json").read_text(encoding="utf-8"))
    data = info["data"]
    result = {
        "what": f"{metrics['model']} on {metrics['dataset']}: trained on train, best step chosen on dev, "
                f"test scored once with that model",
        "command": info["command"],
        "git_commit": info["git_commit"],
        "versions": info["versions"],
        "device": info["device"],
        "device_name": info["device_name"],
        "train_seconds": metrics["train_seconds"],
        "epochs": metrics["epochs"],
        "steps": metrics["steps"],
        "best_step": metrics["best_step"],
        "data": {split: {k: v for k, v in entry.items() if k in ("path", "sha256", "md5", "sentences", "chars",
                                                                  "repairs", "carved_from")}
                 for split, entry in data["splits"].items()},
        "dev_split": data["dev"],
        "config": (run / "config.yaml").read_text(encoding="utf-8"),
        "dev": {k: metrics["dev"][k] for k in ("micro", "batch_averaged")},
        "test": {k: metrics["test"][k] for k in ("micro", "batch_averaged")},
        "history": metrics.get("history", []),
    }
    out = Path(out_stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    shutil.copyfile(run / "curves.png", out.with_suffix(".png"))
    test = metrics["test"]
    print(f"test micro P/R/F1 {100 * test['micro']['precision']:.2f}/{100 * test['micro']['recall']:.2f}/"
          f"{100 * test['micro']['f1']:.2f}, batch-averaged {100 * test['batch_averaged']['precision']:.2f}/"
          f"{100 * test['batch_averaged']['recall']:.2f}/{100 * test['batch_averaged']['f1']:.2f}; "
          f"{metrics['train_seconds'] / 60:.1f} min; wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
