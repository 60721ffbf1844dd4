"""Draw random, size-matched training subsets of the ERNIE stand-in pool, with their provenance.

The paper's ERNIE train file is a random ~55% of the same pool that ``train_full.tsv`` holds
(``../shared/data/README.md`` section 2b), and ``train_20864.tsv`` is one such draw. Each seed
here draws another: ``SIZE`` sentences sampled without replacement from the pool's data lines,
written in pool (corpus) order, as ``train_20864.tsv`` is. Subsets are data derived from
``../shared``, so they go under ``runs/`` (never into git).

    python benchmarks/draw_subsets.py --pool ../shared/data/msra_ner/ernie_proxy/train_full.tsv \\
        --seeds 1 2 3 4 --out runs/i25/subsets

Writes ``OUT/subset-seed<N>.tsv`` and ``OUT/subset-seed<N>.provenance.json`` (pool path and
SHA-256, seed, the drawn pool line numbers, counts), and ``OUT/overlap.json``: for every pair of
subsets (and ``--reference`` files such as ``train_20864.tsv``) the sentences they share.
"""
import argparse
import itertools
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paddle_ner.integrity import sha256  # noqa: E402
from paddle_ner.provenance import report_header, write_report  # noqa: E402

HEADER = "text_a\tlabel"


def read_pool(path: Path) -> List[str]:
    """The data lines of an ERNIE TSV file (header checked and dropped)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[0] != HEADER:
        raise SystemExit(f"{path}:1: expected the header {HEADER!r}")
    return [line for line in lines[1:] if line]


def draw(pool_size: int, size: int, seed: int) -> List[int]:
    """``size`` distinct 0-based pool indices, in pool order."""
    if size > pool_size:
        raise SystemExit(f"--size {size} is larger than the pool ({pool_size} sentences)")
    return sorted(random.Random(seed).sample(range(pool_size), size))


def counts(lines: List[str]) -> dict:
    entities: Counter = Counter()
    chars = 0
    for line in lines:
        text, tags = line.split("\t")
        chars += len(text.split("\x02"))
        entities.update(t[2:] for t in tags.split("\x02") if t.startswith("B-"))
    return {"sentences": len(lines), "chars": chars, "entities": dict(sorted(entities.items()))}


def overlap(sets: Dict[str, set]) -> List[dict]:
    rows = []
    for (a, sa), (b, sb) in itertools.combinations(sets.items(), 2):
        shared = len(sa & sb)
        rows.append({"a": a, "b": b, "shared_sentences": shared, "share_of_a": shared / len(sa),
                     "jaccard": shared / len(sa | sb)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pool", type=Path, required=True, help="ERNIE TSV to draw from (train_full.tsv)")
    p.add_argument("--size", type=int, default=20864, help="sentences per subset (the paper's train file: 20,864)")
    p.add_argument("--seeds", type=int, nargs="+", required=True)
    p.add_argument("--reference", type=Path, nargs="*", default=[],
                   help="other subsets of the same pool to include in the overlap table (e.g. train_20864.tsv)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    pool = read_pool(args.pool)
    position = {line: i for i, line in enumerate(pool)}
    if len(position) != len(pool):
        raise SystemExit(f"{args.pool}: the pool repeats a sentence; subsets would not be sets")
    args.out.mkdir(parents=True, exist_ok=True)
    sets: Dict[str, set] = {}
    for ref in args.reference:
        lines = read_pool(ref)
        missing = [i for i, line in enumerate(lines) if line not in position]
        if missing:
            raise SystemExit(f"{ref}:{missing[0] + 2}: sentence not in the pool {args.pool}")
        sets[ref.name] = {position[line] for line in lines}
    for seed in args.seeds:
        picked = draw(len(pool), args.size, seed)
        lines = [pool[i] for i in picked]
        tsv = args.out / f"subset-seed{seed}.tsv"
        tsv.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        header = report_header("python benchmarks/draw_subsets.py " + " ".join(argv if argv is not None else sys.argv[1:]))
        write_report(args.out / f"subset-seed{seed}.provenance.json", {
            **header, "what": f"{args.size} sentences drawn without replacement from the pool, in pool order",
            "pool": {"path": str(args.pool), "sha256": sha256(args.pool), "sentences": len(pool)},
            "seed": seed, "sampler": "random.Random(seed).sample(range(pool_sentences), size), sorted",
            "file": {"path": str(tsv), "sha256": sha256(tsv), **counts(lines)},
            "pool_lines": [i + 2 for i in picked]})  # 1-based file lines: the header is line 1
        sets[tsv.name] = set(picked)
    write_report(args.out / "overlap.json", {
        **report_header("python benchmarks/draw_subsets.py " + " ".join(argv if argv is not None else sys.argv[1:])),
        "what": "sentences shared by each pair of subsets of the pool", "pool": str(args.pool),
        "expected_share_for_independent_draws": args.size / len(pool), "pairs": overlap(sets)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
