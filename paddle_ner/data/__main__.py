"""python -m paddle_ner.data stats|convert|split: look at, convert and split corpus files.

``stats PATH`` prints sentences, characters, entities per type, sentence length max/mean/p99,
the source format and scheme, and the repairs the reader made. ``--json`` prints one JSON object
instead (keys ``path format scheme sentences chars entities entities_total lengths repairs``).

``convert IN OUT --to FORMAT`` rewrites a corpus in another format: conll, ernie_tsv,
msra_tsv, doccano, label_studio or jsonl. Characters and entities are carried over unchanged
(tag formats are written in the input's scheme, BIO for a span-format input); anything else a
file holds (ids, annotators, timestamps, comments) is not. Where the target cannot hold the data
(a newline inside a text in conll, a multi-character conll token in a span format...), nothing
is written and the reason is printed with the input's line.

``split IN --out DIR`` cuts a corpus into DIR/train, dev and test files (in the input's format,
or ``--to``) and writes DIR/split.json (input path and sha256, seed, fractions, counts, the
rule). Sentences with the same text are one unit, so no text lands in two splits; the units are
ordered by ``sha256(f"{seed}:{text}")``, test takes units from the front until it has at least
``floor(test * N + 0.5)`` of the N sentences, dev the next ones likewise, train the rest; each
split keeps file order. Same input and seed, same files, byte for byte.

Bad data exits with status 2 and ``PATH:LINE: what is wrong`` on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional

from paddle_ner.data.readers import (ALL_FORMATS, OVERLAPS, Corpus, WriteError, describe_repairs, read_corpus,
                                     write_corpus)
from paddle_ner.errors import DataError, UsageError, exit_on_error
from paddle_ner.integrity import sha256
from paddle_ner.tags import SCHEMES

SPLIT_NAMES = ("train", "dev", "test")
# File name extension of each format, for the files split writes.
EXTENSIONS = {"conll": ".txt", "ernie_tsv": ".tsv", "msra_tsv": ".tsv", "doccano": ".jsonl",
              "label_studio": ".json", "jsonl": ".jsonl"}


def _reading_flags(parser: argparse.ArgumentParser, what: str = "file format") -> None:
    parser.add_argument("--format", "--from", dest="format", choices=ALL_FORMATS,
                        help=f"{what} (default: detected)")
    parser.add_argument("--scheme", choices=SCHEMES, help="tagging scheme of a tag-format input (default: detected)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse repairs (empty tags, orphan I-/M-/E- tags): fail at the first one")
    parser.add_argument("--overlaps", choices=OVERLAPS, default="refuse",
                        help="span formats: refuse overlapping spans (default) or keep the longest")
    parser.add_argument("--labels", help="comma-separated entity types allowed (default: any), e.g. PER,LOC,ORG")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    raw = argparse.RawDescriptionHelpFormatter
    stats = sub.add_parser("stats", help="counts of a corpus file", description=__doc__, formatter_class=raw)
    stats.add_argument("path", metavar="PATH", help="corpus file (conll, ERNIE TSV, PaddleNLP msra_ner TSV, "
                                                    "doccano JSONL, Label Studio JSON, our jsonl)")
    _reading_flags(stats)
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    convert = sub.add_parser("convert", help="rewrite a corpus in another format", description=__doc__,
                             formatter_class=raw)
    convert.add_argument("input", metavar="IN", help="corpus file")
    convert.add_argument("output", metavar="OUT", help="file to write")
    convert.add_argument("--to", required=True, choices=ALL_FORMATS, help="format to write")
    _reading_flags(convert, "format of IN")

    split = sub.add_parser("split", help="cut a corpus into train/dev/test files", description=__doc__,
                           formatter_class=raw)
    split.add_argument("input", metavar="IN", help="corpus file")
    split.add_argument("--out", required=True, metavar="DIR", help="directory for train/dev/test and split.json")
    split.add_argument("--dev", type=float, default=0.1, help="fraction of sentences for dev (default 0.1; 0: none)")
    split.add_argument("--test", type=float, default=0.1, help="fraction for test (default 0.1; 0: none)")
    split.add_argument("--seed", type=int, default=1, help="seed of the order (default 1)")
    split.add_argument("--to", choices=ALL_FORMATS, help="format to write (default: the input's)")
    _reading_flags(split, "format of IN")
    return parser


def format_stats(stats: dict) -> str:
    """The human-readable report of ``Corpus.stats()``."""
    entities = stats["entities"]
    width = max([len(t) for t in entities] + [5])
    lines = [
        f"file       {stats['path']}",
        f"format     {stats['format']}, scheme {stats['scheme']} (tags read as BIO)",
        f"sentences  {stats['sentences']}",
        f"chars      {stats['chars']}",
        f"entities   {stats['entities_total']}",
    ]
    lines += [f"  {t:<{width}}  {n}" for t, n in entities.items()]
    lengths = stats["lengths"]
    lines.append(f"length     max {lengths['max']}, mean {lengths['mean']:.2f}, p99 {lengths['p99']}")
    lines.append(f"repairs    {describe_repairs(stats['repairs'])}")
    return "\n".join(lines)


def _read(args, path: str) -> Corpus:
    labels = None
    if args.labels is not None:
        labels = [t.strip() for t in args.labels.split(",") if t.strip()]
        if not labels:
            raise UsageError(f"--labels {args.labels!r}: expected comma-separated entity types, e.g. PER,LOC,ORG")
    return read_corpus(path, format=args.format, scheme=args.scheme, strict=args.strict, overlaps=args.overlaps,
                       labels=labels)


def _write(corpus: Corpus, sentences, path: Path, fmt: str) -> None:
    """write_corpus, with what the format cannot hold reported at the sentence's input line."""
    try:
        write_corpus(sentences, path, format=fmt, scheme=corpus.scheme)
    except WriteError as err:
        sentence = sentences[err.index]
        raise DataError(corpus.path, sentence.line or None, f"cannot be written as {fmt}: {err.detail}") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot write: {err.strerror or err}") from None


def convert(args) -> None:
    corpus = _read(args, args.input)
    _write(corpus, corpus.sentences, Path(args.output), args.to)
    print(f"{args.output}: {len(corpus)} sentences, {corpus.num_chars} chars, "
          f"{sum(corpus.entity_counts().values())} entities as {args.to}", file=sys.stderr)


def split_corpus(corpus: Corpus, dev: float, test: float, seed: int) -> Dict[str, list]:
    """Sentence lists for train/dev/test by the rule in the module docstring; each keeps file order."""
    n = len(corpus)
    groups: Dict[tuple, List[int]] = {}
    for i, sentence in enumerate(corpus.sentences):
        groups.setdefault(tuple(sentence.chars), []).append(i)
    # The tokens break ties between token lists that join to the same text (['ab'] and ['a', 'b']).
    order = sorted(groups, key=lambda chars: (hashlib.sha256(f"{seed}:{''.join(chars)}".encode("utf-8")).hexdigest(),
                                              chars))
    where: Dict[int, str] = {}
    queue = iter(order)
    for name, fraction in (("test", test), ("dev", dev)):
        want = math.floor(fraction * n + 0.5)
        got = 0
        while got < want:
            unit = next(queue, None)
            if unit is None:
                break  # nothing left: train stays empty, which split() refuses
            for i in groups[unit]:
                where[i] = name
                got += 1
    return {name: [s for i, s in enumerate(corpus.sentences) if where.get(i, "train") == name]
            for name in SPLIT_NAMES}


def split(args) -> None:
    for name in ("dev", "test"):
        value = getattr(args, name)
        if not 0.0 <= value < 1.0:
            raise UsageError(f"--{name} {value}: must be in [0, 1)")
    if args.dev + args.test >= 1.0:
        raise UsageError(f"--dev {args.dev} + --test {args.test} leaves no training data; their sum must be below 1")
    corpus = _read(args, args.input)
    n = len(corpus)
    texts = len({tuple(s.chars) for s in corpus})
    for name in ("test", "dev"):
        fraction = getattr(args, name)
        if fraction > 0 and math.floor(fraction * n + 0.5) == 0:
            raise DataError(corpus.path, None, f"{n} sentences are too few for --{name} {fraction}: it would get "
                                               f"none (pass --{name} 0 for no {name} file)")
    parts = split_corpus(corpus, args.dev, args.test, args.seed)
    if not parts["train"]:
        raise DataError(corpus.path, None, f"{n} sentences ({texts} distinct texts) leave none for train after "
                                           f"dev {args.dev} and test {args.test}")
    fmt = args.to or corpus.format
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{out}: cannot create the directory: {err.strerror or err}") from None
    files, counts = {}, {}
    for name in SPLIT_NAMES:
        if name != "train" and getattr(args, name) == 0:
            continue
        sentences = parts[name]
        files[name] = name + EXTENSIONS[fmt]
        _write(corpus, sentences, out / files[name], fmt)
        counts[name] = {"sentences": len(sentences), "chars": sum(len(s) for s in sentences),
                        "entities": sum(len(s.spans()) for s in sentences)}
    conflicting = _conflicting_texts(corpus)
    provenance = {
        "input": {"path": str(args.input), "sha256": sha256(Path(args.input)), "format": corpus.format,
                  "scheme": corpus.scheme, "sentences": n, "repairs": dict(corpus.repairs)},
        "output_format": fmt,
        "seed": args.seed,
        "fractions": {"dev": args.dev, "test": args.test},
        "files": files,
        "counts": counts,
        "duplicates": {"sentences": n - texts, "texts_with_different_tags": conflicting},
        "rule": "sentences with the same text form one unit; units sorted by sha256(f'{seed}:{text}') hex digest; "
                "test takes units from the front until it has at least floor(test * N + 0.5) sentences, dev the "
                "next until floor(dev * N + 0.5), train the rest; each split keeps input order",
    }
    (out / "split.json").write_text(json.dumps(provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    summary = ", ".join(f"{name} {c['sentences']}" for name, c in counts.items())
    print(f"{out}: {summary} sentences as {fmt}; {n - texts} duplicate sentence(s) kept with their twin "
          f"({conflicting} text(s) tagged differently)", file=sys.stderr)


def _conflicting_texts(corpus: Corpus) -> int:
    tags: Dict[tuple, set] = {}
    for s in corpus:
        tags.setdefault(tuple(s.chars), set()).add(tuple(s.tags))
    return sum(1 for variants in tags.values() if len(variants) > 1)


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "stats":
        stats = _read(args, args.path).stats()
        if args.json:
            print(json.dumps(stats, ensure_ascii=False))
        else:
            print(format_stats(stats))
    elif args.command == "convert":
        convert(args)
    else:
        split(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
