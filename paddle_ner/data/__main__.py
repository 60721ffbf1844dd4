"""python -m paddle_ner.data stats PATH: counts of one corpus file.

Prints sentences, characters, entities per type, sentence length max/mean/p99, the source format
and scheme, and the repairs the reader made. ``--json`` prints one JSON object instead (keys
``path format scheme sentences chars entities entities_total lengths repairs``). Bad data exits
with status 2 and ``PATH:LINE: what is wrong`` on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from paddle_ner.data.readers import FORMATS, describe_repairs, read_corpus
from paddle_ner.errors import exit_on_error
from paddle_ner.tags import SCHEMES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    stats = sub.add_parser("stats", help="counts of a corpus file", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    stats.add_argument("path", metavar="PATH", help="corpus file (conll, ERNIE TSV or PaddleNLP msra_ner TSV)")
    stats.add_argument("--format", choices=FORMATS, help="file format (default: detected)")
    stats.add_argument("--scheme", choices=SCHEMES, help="tagging scheme (default: detected from the tags)")
    stats.add_argument("--strict", action="store_true",
                       help="refuse repairs (empty tags, orphan I-/M-/E- tags): fail at the first one")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
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


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "stats":
        corpus = read_corpus(args.path, format=args.format, scheme=args.scheme, strict=args.strict)
        stats = corpus.stats()
        if args.json:
            print(json.dumps(stats, ensure_ascii=False))
        else:
            print(format_stats(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
