"""Does real training make denormal numbers? A census of a trained run's gradients.

Denormals (nonzero float32 values below 1.18e-38) are what slows MKL's GEMMs down on CPU when
they are not flushed to zero. For each run directory (its ``model/``, trained on real tags), a
few training steps are taken on batches of ``--train`` (the model in train mode, dropout on,
no weight update, flushing **off** in this process) and every gradient a step produces is
counted: each parameter's (dense ones; sparse embedding rows are skipped), the encoder
output's and the emissions'.

    python benchmarks/denormal_census.py runs/i13/c-e10-seed1 --train ../shared/data/msra_ner/ernie_proxy/train_20864.tsv

The result does not depend on the machine's load or speed (only on the weights and batches).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

def count(values: np.ndarray) -> tuple:
    """(denormal, zero, total) of a float32 array, read from the bits (exponent 0: zero or
    denormal), so a process that flushes or treats denormals as zero still counts them."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).ravel()
    exponent_zero = (bits & 0x7F800000) == 0
    mantissa = bits & 0x007FFFFF
    return int((exponent_zero & (mantissa != 0)).sum()), int((exponent_zero & (mantissa == 0)).sum()), int(bits.size)


def census(tagger, mapper, cfg, labels, sentences, batches: int, batch_size: int, seed: int) -> dict:
    import paddle

    from paddle_ner.batching import bucket_batches, collate, make_examples

    index = {label: i for i, label in enumerate(labels)}
    examples = make_examples([s.chars for s in sentences], mapper, cfg.max_seq_len, cfg.window_overlap,
                             tags=[s.tags for s in sentences], label_index=index)
    order = bucket_batches([len(e.ids) for e in examples], batch_size, shuffle=True, seed=seed)[:batches]
    totals = defaultdict(lambda: [0, 0, 0])

    def add(name, array):
        for i, v in enumerate(count(array)):
            totals[name][i] += v

    def hooked_scores(ids, lengths):  # Tagger._scores with hooks on the two activations' gradients
        hidden = tagger.encoder(ids, lengths)
        hidden.register_hook(lambda g: add("grad of the encoder output", g.numpy()))
        scores = tagger.fc(tagger.dropout(hidden))
        scores.register_hook(lambda g: add("grad of the emissions", g.numpy()))
        return scores

    tagger.train()
    tagger._scores = hooked_scores
    for batch in order:
        ids, lengths, tags = collate([examples[i] for i in batch], mapper.pad_id)
        loss = tagger(paddle.to_tensor(ids), paddle.to_tensor(lengths), paddle.to_tensor(tags))
        loss.backward()
        for name, param in tagger.named_parameters():
            if param.grad is not None and not param.grad.is_selected_rows():
                add("param " + name, param.grad.numpy())
        tagger.clear_gradients()
    del tagger._scores
    out = {name: {"denormal": d, "zero": z, "values": n, "denormal_share": d / n} for name, (d, z, n) in totals.items()}
    all_d = sum(v["denormal"] for v in out.values())
    all_n = sum(v["values"] for v in out.values())
    return {"batches": len(order), "denormal": all_d, "values": all_n, "denormal_share": all_d / max(1, all_n),
            "by_tensor": out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="trained run directories (with model/)")
    p.add_argument("--train", type=Path, required=True, help="training file whose batches to take steps on")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    os.environ["PADDLE_NER_DENORMALS"] = "keep"  # this census must see them

    from paddle_ner.compat import quiet_imports

    quiet_imports()
    import paddle

    from paddle_ner.data import read_corpus
    from paddle_ner.denormals import mxcsr, supported
    from paddle_ner.models.io import load_model
    from paddle_ner.provenance import report_header, write_report

    paddle.set_device("cpu")
    if supported() and mxcsr() & 0x8040:
        raise SystemExit("this process flushes denormals already (MXCSR FTZ/DAZ set): the census would see none")
    sentences = read_corpus(args.train).sentences[: args.batches * args.batch_size * 2]
    report = {**report_header("python benchmarks/denormal_census.py " + " ".join(argv or sys.argv[1:])),
              "train": str(args.train), "runs": {}}
    for run in args.runs:
        tagger, mapper, cfg, labels = load_model(run / "model")
        report["runs"][str(run)] = {"trained": census(tagger, mapper, cfg, labels, sentences, args.batches,
                                                      args.batch_size, args.seed)}
        for when, r in report["runs"][str(run)].items():
            print(f"{run} ({when}): {r['denormal']} denormal of {r['values']:,} gradient values "
                  f"({100 * r['denormal_share']:.2e}%) over {r['batches']} batches")
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
