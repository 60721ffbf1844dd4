"""Fuzz the corpus readers with many more inputs than ``make test`` gives them.

Each input is one of: a valid file (the sample corpus, a small ERNIE TSV, an msra TSV, a
space-separated BMES conll) after 1-6 random byte flips, insertions, deletions, replacements,
truncations and duplications; random bytes; random Unicode text with tabs, newlines, ``\\x02`` and
tags mixed in. Each is read with detection and with every ``format=``, half of them ``strict``.
The mutations and the checks are the tests' own (``tests/test_properties.py``: ``mutate``,
``check_read``, ``check_rewrite``): a read either returns a corpus that holds every character of
the file at the line it names and that write_corpus writes back identical, or raises a DataError
``PATH:LINE: ...`` / ``PATH: ...``. Anything else is counted, and the first tracebacks printed.

    python benchmarks/fuzz_readers.py [--examples 20000] [--seed 0] [--show 3]

Exit status 1 when any read broke the contract or raised something other than DataError.
"""
import argparse
import importlib.util
import logging
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_oracles():
    sys.path.insert(0, str(REPO / "tests"))  # test_properties imports its siblings (conftest) as pytest does
    spec = importlib.util.spec_from_file_location("test_properties", REPO / "tests" / "test_properties.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_ops(rng, t):
    ops = []
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.5:
            payload = rng.choice(t.INTERESTING_BYTES)
        else:
            payload = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        ops.append((rng.choice(t.OPS), rng.randrange(1 << 20), payload))
    return ops


def random_text(rng, t):
    pieces = t.TROUBLE + t.PLAIN + ["\t", "\t", "\n", "\n", "\n\n", " ", t.SEP, t.ERNIE_HEADER + "\n",
                                    "O", "B-PER", "I-PER", "E-LOC", "S-LOC", "M-ORG", "B-", "I-A-B", "张", "a"]
    out = []
    for _ in range(rng.randint(0, 30)):
        if rng.random() < 0.8:
            out.append(rng.choice(pieces))
        else:  # any code point but a surrogate
            code = rng.randrange(0x110000 - 0x800)
            out.append(chr(code + 0x800 if code >= 0xD800 else code))
    return "".join(out).encode("utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20000, help="inputs to fuzz (each is read 4 ways)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="tracebacks to print per kind of failure")
    args = parser.parse_args(argv)

    t = load_oracles()
    logging.disable(logging.WARNING)  # the readers' repair warnings, thousands of them
    rng = random.Random(args.seed)
    kinds, counts, failures = Counter(), Counter(), Counter()
    shown = Counter()
    start = time.perf_counter()

    def failed(kind, what, fmt, data):
        failures[kind] += 1
        if shown[kind] < args.show:
            shown[kind] += 1
            print(f"--- {kind}: {what}, format={fmt}, input {data[:160]!r}{'...' if len(data) > 160 else ''}")
            traceback.print_exc(limit=-4, file=sys.stdout)

    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp, "input.txt"), Path(tmp, "rewritten.txt")
        for _ in range(args.examples):
            roll = rng.random()
            if roll < 0.8:
                base = rng.choice(sorted(t.BASES))
                what = f"mutated {base}"
                data = t.mutate(t.BASES[base], random_ops(rng, t))
                kinds["mutated file"] += 1
            elif roll < 0.9:
                what, data = "random bytes", bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
                kinds[what] += 1
            else:
                what, data = "random text", random_text(rng, t)
                kinds[what] += 1
            path.write_bytes(data)
            strict = rng.random() < 0.5
            for fmt in (None,) + t.FORMATS:
                counts["reads"] += 1
                try:
                    corpus = t.check_read(path, data, fmt, strict=strict)
                except AssertionError:
                    failed("contract broken", what, fmt, data)
                    continue
                except Exception:  # noqa: BLE001 - this is what the fuzz looks for
                    failed(f"other exception ({sys.exc_info()[0].__name__})", what, fmt, data)
                    continue
                if corpus is None:
                    counts["clean DataError"] += 1
                    continue
                counts["parsed OK"] += 1
                try:
                    t.check_rewrite(corpus, out)
                except Exception:  # noqa: BLE001
                    failed("write-back broken", what, fmt, data)

    seconds = time.perf_counter() - start
    print(f"inputs fuzzed      {args.examples}  ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}; "
          f"seed {args.seed}, {seconds:.0f} s)")
    print(f"reads              {counts['reads']}  (detected, conll, ernie_tsv, msra_tsv; half strict)")
    print(f"parsed OK          {counts['parsed OK']}  (each also written back in 3 formats and read again)")
    print(f"clean DataError    {counts['clean DataError']}")
    bad = sum(failures.values())
    print(f"other exceptions   {bad}" + (f"  ({', '.join(f'{n} {k}' for k, n in sorted(failures.items()))})"
                                         if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
