"""A/B of the encoders' training step: every Linear as ``nn.Linear`` against ``GemmBiasLinear``.

The same model (a stand-in of ``--model``, random weights), the same batches as ``make bench``
(MSRA sentences with their own tags, batch 16), the same optimizer; the Linears' class is switched
between passes, which are interleaved (A B A B ...) so that drift hits both alike. Prints seconds
per step of each pass and tokens/s of each variant's best pass, and writes them with the machine.

    python benchmarks/bias_gradient_ab.py --model bert --size full --out results/bias_gradient_ab.json
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import add_model_arguments, batches_ours, build, cpu_process, load_sentences, make_optimizer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(p)
    p.add_argument("--steps", type=int, default=4, help="timed steps per pass")
    p.add_argument("--passes", type=int, default=2, help="passes per variant, interleaved")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    cpu_process()
    import paddle

    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.models.encoders import GemmBiasLinear
    from paddle_ner.provenance import report_header, write_report

    threads = use_cpu_cores(False)
    _, sentences = load_sentences(argparse.Namespace(corpus=None, seed=0))
    n = 16 * (args.steps + 1)
    variants = {"nn.Linear": paddle.nn.Linear, "GemmBiasLinear": GemmBiasLinear}
    seconds = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        cfg, (tagger, mapper) = build(args.model, args.size, Path(tmp), args.seed, [])
        tagger.train()
        data = batches_ours([c for c, _ in sentences[:n]], [t for _, t in sentences[:n]], mapper, cfg, 16)
        tensors = [tuple(paddle.to_tensor(a) for a in b) for b in data]
        tokens = sum(int(b[1].sum()) for b in data[1:]) / (len(data) - 1)
        optimizer = make_optimizer(tagger.parameters())
        linears = [layer for layer in tagger.encoder.sublayers() if isinstance(layer, paddle.nn.Linear)]

        def step(batch):
            loss = tagger(*batch)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            float(loss)

        for _ in range(args.passes):
            for name, cls in variants.items():
                for layer in linears:
                    layer.__class__ = cls
                step(tensors[0])  # warm-up of this variant
                started = time.perf_counter()
                for batch in tensors[1:]:
                    step(batch)
                seconds[name].append((time.perf_counter() - started) / (len(tensors) - 1))
    report = {**report_header("python benchmarks/bias_gradient_ab.py " + " ".join(argv or sys.argv[1:])),
              "threads": threads, "model": f"{args.model} {args.size}",
              "tokens_per_step": tokens, "seconds_per_step": seconds,
              "best_tokens_per_s": {name: tokens / min(s) for name, s in seconds.items()}}
    write_report(args.out, report)
    for name, s in seconds.items():
        print(f"{name}: s/step by pass {', '.join(f'{x:.3f}' for x in s)}; best {tokens / min(s):.1f} tokens/s")
    best = report["best_tokens_per_s"]
    print(f"GemmBiasLinear / nn.Linear: {best['GemmBiasLinear'] / best['nn.Linear']:.3f}x "
          f"({report['machine'].get('device_name')}, {threads} thread(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
