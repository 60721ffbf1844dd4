"""How much the baseline's test F1 moves with *which* 20,864 training sentences were drawn.

The stand-in ``train_20864.tsv`` is one random draw from the pool ``train_full.tsv``; the paper's
own train file is another (``../shared/data/README.md`` section 2b). This collects one config
trained with one seed on several draws (``benchmarks/draw_subsets.py``): the stand-in's run, read
from the committed ``baselines.json``, and the runs on the other subsets under ``--runs``, whose
test is scored once each (``baseline_study.score_test_once``, cached in ``RUN/test_score.json``).
Selection is unchanged: the config was chosen on dev before any of this.

    python benchmarks/subset_spread.py --runs runs/i25 --group subset-d-e20 --reference d-e20-seed1 \\
        --members subset1-d-e20-seed1 subset2-d-e20-seed1 subset3-d-e20-seed1 subset4-d-e20-seed1 \\
        --subsets runs/i25/subsets \\
        --test ../shared/data/msra_ner/ernie/test.tsv --out results/msra_ernie_proxy

Adds (or replaces) the group and its runs in ``OUT/baselines.json`` (other groups are kept) and
writes ``OUT/subset_spread.md``: each draw's test P/R/F1, mean, min, max, sample std, where the
paper's 90.32 falls, and how much the draws overlap.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

from baseline_study import group_stats, summarise

PAPER_F1 = 90.32


def spread_markdown(group: str, entries, overlap: dict) -> str:
    f1 = [100 * e["test"]["micro"]["f1"] for e in entries]
    mean, std = statistics.mean(f1), statistics.stdev(f1)
    lines = [f"Group `{group}`: one config, seed 1, trained on {len(entries)} random draws of 20,864 sentences "
             f"from `train_full.tsv`; ERNIE test, corpus-level micro P/R/F1 (%).", "",
             "| run | train file | sha256 (first 12) | dev micro F1 | test P | test R | test F1 |",
             "|---|---|---|---:|---:|---:|---:|"]
    for e in entries:
        train = e["data"]["train"]
        m = e["test"]["micro"]
        lines.append(f"| {e['run']} | `{Path(train['path']).name}` | {train['sha256'][:12]} "
                     f"| {100 * e['dev']['micro']['f1']:.2f} | {100 * m['precision']:.2f} | {100 * m['recall']:.2f} "
                     f"| {100 * m['f1']:.2f} |")
    z = (PAPER_F1 - mean) / std
    inside = min(f1) <= PAPER_F1 <= max(f1)
    lines += ["", f"Test F1 over the draws: mean {mean:.2f}, min {min(f1):.2f}, max {max(f1):.2f}, "
                  f"sample std {std:.2f}. The paper's {PAPER_F1} is {PAPER_F1 - mean:+.2f} from the mean "
                  f"({z:+.1f} std), {'inside' if inside else 'outside'} the range of the draws.", ""]
    if overlap:
        pairs = overlap["pairs"]
        shares = [p["share_of_a"] for p in pairs]
        lines += [f"Overlap: any two draws share {100 * min(shares):.1f}-{100 * max(shares):.1f}% of their sentences "
                  f"(independent draws of 20,864 from {round(20864 / overlap['expected_share_for_independent_draws'])} "
                  f"are expected to share {100 * overlap['expected_share_for_independent_draws']:.1f}%); "
                  f"Jaccard {min(p['jaccard'] for p in pairs):.3f}-{max(p['jaccard'] for p in pairs):.3f}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=Path, required=True, help="directory holding the subset runs")
    p.add_argument("--group", required=True, help="name of the group in baselines.json (with 'subset' in it)")
    p.add_argument("--members", nargs="+", required=True, help="run directory names under --runs")
    p.add_argument("--reference", help="a run already in OUT/baselines.json trained on the stand-in (the first draw)")
    p.add_argument("--subsets", type=Path, help="draw_subsets.py's output folder (for overlap.json)")
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    report_path = args.out / "baselines.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    recorded = {e["run"]: e for e in report["runs"]}
    entries = []
    if args.reference:
        if args.reference not in recorded or not recorded[args.reference].get("test"):
            raise SystemExit(f"{args.reference}: not a scored run of {report_path}")
        entries.append(recorded[args.reference])
    for name in args.members:
        entry = summarise(args.runs / name, args.test, scored=True)
        if entries and entry["test"]["sha256"] != entries[0]["test"]["sha256"]:
            raise SystemExit(f"{name} was scored on another test file than {args.reference}")
        entries.append(entry)
    stats = group_stats(entries)
    stats["what"] = ("one config and seed on several random draws of the training sentences: the spread that "
                     "comes from which sentences were drawn")
    report["groups"][args.group] = stats
    report["runs"] = [e for e in report["runs"] if e["run"] not in set(args.members)] + \
        [e for e in entries if e["run"] in set(args.members)]
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    overlap = json.loads((args.subsets / "overlap.json").read_text(encoding="utf-8")) if args.subsets else {}
    text = spread_markdown(args.group, entries, overlap)
    (args.out / "subset_spread.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {report_path} (group {args.group}) and {args.out / 'subset_spread.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
