"""Random-weight stand-ins for the Baidu checkpoints, for machines that cannot download them.

A stand-in is a directory that ``from_pretrained`` loads exactly like a downloaded
checkpoint: PaddleNLP's own architecture for the checkpoint (from the config table it ships),
random weights, and a tokenizer over a generated vocabulary of the real size. Shrunk
stand-ins keep the vocabulary size and cut depth and width, so tests and pipeline checks run
in seconds on a CPU. They exercise the code path; their predictions mean nothing.

    python -m paddle_ner.models.standin OUT [--models bert ernie ernie_tiny roberta] [--full]

writes ``OUT/<model key>/`` for each, the layout that ``python -m paddle_ner.models.download``
gives real checkpoints, so ``make reproduce PRETRAINED_DIR=OUT`` takes either.

With ``--vocab FILE`` (a real vocab.txt, e.g. bert-base-chinese's from the ``fastbert``
package) and ``--arch key=value`` (PaddleNLP config fields), the same command writes a small
encoder to train from scratch: real token ids, an architecture of your choosing.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import paddle

from paddle_ner.data import read_corpus
from paddle_ner.errors import UsageError, exit_on_error
from paddle_ner.models.registry import PRETRAINED, check_model_key

SHRUNK = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128}
SPECIAL = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def standin_config(key: str, shrink: bool = True, **overrides) -> dict:
    """The shipped architecture of ``--model key``, optionally shrunk (vocabulary kept)."""
    config = PRETRAINED[key].shipped_config()
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: not in {PRETRAINED[key].checkpoint}'s config "
                         f"(its fields: {', '.join(sorted(config))})")
    if shrink:
        config.update(SHRUNK)
    config.update(overrides)
    return config


def standin_vocab(size: int, chars: Iterable[str] = ()) -> List[str]:
    """``size`` tokens laid out like BERT-Chinese's vocab.txt: specials at BERT's ids, then
    ``chars`` (e.g. a corpus's characters, most frequent first), ASCII, CJK ideographs, and
    ``[unused]`` fillers up to ``size``."""
    tokens = list(SPECIAL)
    seen = set(tokens)
    pool = list(chars) + [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    pool += [chr(c) for c in range(0x4E00, 0x9FA6)]
    for token in pool:
        if len(tokens) == size:
            break
        if token not in seen and not token.isspace():
            seen.add(token)
            tokens.append(token)
    tokens += [f"[unused{i}]" for i in range(100, 100 + size - len(tokens))]
    return tokens[:size]


def write_standin(key: str, directory, shrink: bool = True, chars: Iterable[str] = (), seed: int = 0,
                  vocab: Optional[Sequence[str]] = None, **overrides) -> Path:
    """Write a stand-in checkpoint for ``--model key`` into ``directory`` and return it.
    ``vocab``: the tokens to use (vocab_size follows it) instead of a generated vocabulary."""
    check_model_key(key)
    spec = PRETRAINED[key]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if vocab is not None:
        missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]") if t not in vocab]
        if missing:
            raise UsageError(f"the vocabulary has no {', '.join(missing)}: not a BERT-style vocab.txt")
        overrides["vocab_size"] = len(vocab)
    config = standin_config(key, shrink, **overrides)
    paddle.seed(seed)
    spec.model_cls()(spec.config_cls()(**config)).save_pretrained(str(directory))
    tokens = list(vocab) if vocab is not None else standin_vocab(config["vocab_size"], chars)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    tokenizer_cls = spec.tokenizer_cls()
    init = dict(tokenizer_cls.pretrained_init_configuration.get(spec.checkpoint, {}))
    tokenizer_cls(str(vocab_file), **init).save_pretrained(str(directory))
    return directory


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.models.standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to fill: OUT/<model key>/ per stand-in")
    parser.add_argument("--models", nargs="+", default=sorted(PRETRAINED), choices=sorted(PRETRAINED))
    parser.add_argument("--full", action="store_true", help="full-size architecture instead of the shrunk one")
    parser.add_argument("--chars-from", type=Path, help="a corpus whose characters go first in the vocabulary")
    parser.add_argument("--vocab", type=Path, help="a BERT-style vocab.txt to use instead of a generated one")
    parser.add_argument("--arch", nargs="+", default=[], metavar="KEY=VALUE",
                        help="architecture fields (ints), e.g. num_hidden_layers=4 hidden_size=256")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def parse_arch(items: Sequence[str]) -> Dict[str, int]:
    """``["num_hidden_layers=4", ...]`` as ints; a malformed item is a UsageError naming it."""
    arch = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value.isdigit():
            raise UsageError(f"--arch {item!r}: expected KEY=INTEGER, e.g. num_hidden_layers=4")
        arch[key] = int(value)
    return arch


@exit_on_error
def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    chars: List[str] = []
    if args.chars_from:
        counts = Counter(c for s in read_corpus(args.chars_from).sentences for c in s.chars)
        chars = [c for c, _ in counts.most_common()]
    arch = parse_arch(args.arch)
    vocab = None
    if args.vocab:
        # one token per "\n"-ended line; not splitlines(), which also splits at U+0085/U+2028,
        # tokens that BERT-Chinese's vocab.txt has
        vocab = args.vocab.read_text(encoding="utf-8").split("\n")
        vocab = vocab[:-1] if vocab and vocab[-1] == "" else vocab
    for key in args.models:
        path = write_standin(key, args.out / key, shrink=not args.full, chars=chars, seed=args.seed, vocab=vocab,
                             **arch)
        print(f"wrote a random-weight stand-in for {PRETRAINED[key].checkpoint} to {path}")


if __name__ == "__main__":
    main()
