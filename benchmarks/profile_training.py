"""Where a training step's time goes, Paddle (ours) against PyTorch (Hugging Face), op by op.

Both train the same architecture (a stand-in of ``--model``, random weights; HF's
``BertForTokenClassification`` built from the same numbers) on the same batches as ``make
bench`` (MSRA sentences with their own tags, length-bucketed, batch 16), with the same number
of math threads. For each framework, each thread count in ``--threads``: the wall time of a
step, and the operators' own time summed over ``--steps`` profiled steps (``paddle.profiler``
host events of category Operator, top level only; ``torch.profiler``'s self CPU time), grouped
into families (GEMM forward, GEMM backward, softmax, norm, activation, dropout, elementwise,
optimizer, ...). The step time not inside any operator is framework overhead.

An operator family whose time does not fall from 1 to 2 threads runs single-threaded.
``kernels`` checks that op by op: the same single operators (one BERT feed-forward's shapes,
16 x 53 positions) timed alone at each thread count in both frameworks.

    python benchmarks/profile_training.py --model bert --size full --threads 1 2 --out results/profile_training.json

Needs the ``bench`` extra for the torch side (skipped with a line without it). Figures are
only comparable within one run, on an otherwise idle machine; the JSON records the processor.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict

import numpy as np

from bench import LABELS, add_model_arguments, build, cpu_process

# Operator name -> family; the first family with a matching substring wins. Names are
# normalized first: lower case, Paddle's backward nodes "Global_MatmulGradNode" -> "matmul_grad".
# torch's backward runs the same aten ops as its forward, so forward and backward share a family.
FAMILIES = [
    ("gemm (fwd + bwd)", ("matmul", "aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "linear")),
    ("softmax", ("softmax",)),
    ("layer norm", ("layer_norm", "layernorm")),
    ("activation", ("gelu", "tanh", "relu")),
    ("dropout", ("dropout", "bernoulli")),
    ("optimizer", ("adamw", "adam_", "_foreach", "optimizer.step", "aten::lerp", "aten::addcdiv", "aten::addcmul",
                   "aten::sqrt")),
    ("embedding", ("embedding",)),
    ("crf / loss", ("crf", "logsumexp", "cross_entropy", "nll")),
    ("copy / layout", ("transpose", "reshape", "copy", "contiguous", "clone", "cast", "aten::to", "view", "permute",
                       "slice", "concat", "split", "unsqueeze", "squeeze", "expand", "stack", "index")),
    ("elementwise / reduce", ("add", "sub", "mul", "div", "scale", "sum", "mean", "full", "fill", "where",
                              "max", "min", "exp", "log", "pow", "compare", "less", "greater", "equal", "zeros")),
]


def normalize(name: str) -> str:
    lower = name.lower().replace("global_", "")
    return lower[:-len("gradnode")] + "_grad" if lower.endswith("gradnode") else lower


def family(name: str) -> str:
    lower = normalize(name)
    for fam, keys in FAMILIES:
        if any(k in lower for k in keys):
            return fam
    return "other"


def batches(args, mapper, cfg) -> list:
    from bench import batches_ours, load_sentences

    _, sentences = load_sentences(argparse.Namespace(corpus=args.corpus, seed=0))
    n = args.batch_size * (args.steps + 2)
    return batches_ours([c for c, _ in sentences[:n]], [t for _, t in sentences[:n]], mapper, cfg, args.batch_size)


def paddle_profile(tagger, data, threads: int) -> dict:
    """Step wall time and top-level Operator time by name over ``data[1:]`` (``data[0]`` warms up)."""
    import paddle
    import paddle.profiler as profiler
    from paddle.base import core

    core.set_num_threads(threads)
    optimizer = paddle.optimizer.AdamW(learning_rate=5e-5, parameters=tagger.parameters(), weight_decay=0.01)
    tensors = [tuple(paddle.to_tensor(a) for a in b) for b in data]

    def step(ids, lengths, labels):
        loss = tagger(ids, lengths, labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)

    step(*tensors[0])
    started = time.perf_counter()
    for t in tensors[1:]:
        step(*t)
    wall = time.perf_counter() - started  # unprofiled: the step time to compare
    with tempfile.TemporaryDirectory() as tmp:
        prof = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU],
                                 on_trace_ready=profiler.export_chrome_tracing(tmp))
        prof.start()
        for t in tensors[1:]:
            step(*t)
            prof.step()
        prof.stop()
        trace = json.loads(next(Path(tmp).glob("*.json")).read_text())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    ops = sorted((e for e in events if e.get("ph") == "X" and e.get("cat") == "Operator"),
                 key=lambda e: (e.get("tid"), e["ts"]))
    by_name: Dict[str, float] = defaultdict(float)
    end_of = {}
    for e in ops:  # top level only: an operator inside another one's span is the outer one's time
        tid = e.get("tid")
        if e["ts"] < end_of.get(tid, -1):
            continue
        end_of[tid] = e["ts"] + e["dur"]
        by_name[e["name"].split(" dygraph")[0].split("[")[0].strip()] += e["dur"] / 1e6
    return {"seconds_per_step": wall / (len(tensors) - 1), "op_seconds": dict(by_name),
            "steps": len(tensors) - 1}


def torch_profile(config, data, threads: int, seed: int) -> dict:
    import torch
    from torch.profiler import ProfilerActivity, profile

    import bench_peers

    model = bench_peers._hf_model(config, threads, seed)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    tensors = [bench_peers._hf_batch(ids, lengths, labels) for ids, lengths, labels in data]

    def step(batch):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss.detach())

    step(tensors[0])
    started = time.perf_counter()
    for t in tensors[1:]:
        step(t)
    wall = time.perf_counter() - started
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for t in tensors[1:]:
            step(t)
    by_name = {e.key: e.self_cpu_time_total / 1e6 for e in prof.key_averages() if e.self_cpu_time_total > 0}
    return {"seconds_per_step": wall / (len(tensors) - 1), "op_seconds": by_name, "steps": len(tensors) - 1}


KERNEL_ROWS, HIDDEN, INNER = 16 * 53, 768, 3072  # a bucketed batch of make bench's BERT step


def kernel_times(threads: int, repeats: int = 20) -> dict:
    """Milliseconds (best of ``repeats``) of single operators on a BERT feed-forward's shapes,
    Paddle and (with the bench extra) torch, on ``threads`` math threads."""
    import paddle
    from paddle.base import core

    import bench_peers

    core.set_num_threads(threads)
    x, w = paddle.randn([KERNEL_ROWS, HIDDEN]), paddle.randn([HIDDEN, INNER])
    h, h2 = paddle.randn([KERNEL_ROWS, INNER]), paddle.randn([KERNEL_ROWS, INNER])
    norm = paddle.nn.LayerNorm(HIDDEN)
    ops = {"matmul [848,768]x[768,3072]": lambda: paddle.matmul(x, w),
           "add [848,3072]": lambda: paddle.add(h, h2),
           "sum over rows (a bias gradient)": lambda: h.sum(axis=0),
           "gelu": lambda: paddle.nn.functional.gelu(h),
           "dropout p=0.1": lambda: paddle.nn.functional.dropout(h, 0.1, training=True),
           "layer_norm [848,768]": lambda: norm(x)}
    out = {"paddle": {name: 1000 * min(timed(fn, repeats)) for name, fn in ops.items()}}
    if not bench_peers.missing("torch"):
        import torch

        torch.set_num_threads(threads)
        tx, tw = torch.randn(KERNEL_ROWS, HIDDEN), torch.randn(HIDDEN, INNER)
        th, th2 = torch.randn(KERNEL_ROWS, INNER), torch.randn(KERNEL_ROWS, INNER)
        tnorm = torch.nn.LayerNorm(HIDDEN)
        tops = [lambda: tx @ tw, lambda: th + th2, lambda: th.sum(0), lambda: torch.nn.functional.gelu(th),
                lambda: torch.nn.functional.dropout(th, 0.1, training=True), lambda: tnorm(tx)]
        with torch.no_grad():
            out["torch"] = {name: 1000 * min(timed(fn, repeats)) for name, fn in zip(ops, tops)}
    return out


def timed(fn, repeats: int) -> list:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # CPU kernels run synchronously in both frameworks
        times.append(time.perf_counter() - started)
    return times


def summarize(result: dict) -> dict:
    """Per step: seconds by family, and the share of the step outside every operator."""
    steps, fam = result["steps"], defaultdict(float)
    for name, seconds in result["op_seconds"].items():
        fam[family(name)] += seconds / steps
    ops = sum(fam.values())
    result["by_family"] = dict(sorted(fam.items(), key=lambda kv: -kv[1]))
    result["backward_seconds"] = sum(v for k, v in result["op_seconds"].items() if k.endswith("GradNode")) / steps
    result["top_ops"] = dict(sorted(((k, v / steps) for k, v in result["op_seconds"].items()), key=lambda kv: -kv[1])[:15])
    result["overhead_seconds"] = max(0.0, result["seconds_per_step"] - ops)  # profiled ops can exceed the unprofiled step
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(p)
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=3, help="profiled steps (after a warm-up step)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--corpus", type=Path, help="sentences and tags (default: as make bench)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    cpu_process()
    import paddle

    import bench_peers
    from paddle_ner.provenance import report_header, write_report

    report = {**report_header("python benchmarks/profile_training.py " + " ".join(argv or sys.argv[1:])),
              "model": f"{args.model} {args.size}", "batch_size": args.batch_size, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        cfg, (tagger, mapper) = build(args.model, args.size, Path(tmp), args.seed, [])
        tagger.train()
        data = batches(args, mapper, cfg)
        config = bench_peers.hf_config(tagger, len(LABELS))
        report["tokens_per_step"] = float(np.mean([int(lengths.sum()) for _, lengths, _ in data[1:]]))
        absent = bench_peers.missing("torch", "transformers")
        for threads in args.threads:
            report["runs"][f"paddle_{threads}"] = summarize(paddle_profile(tagger, data, threads))
            if absent:
                report["torch_skipped"] = f"{', '.join(absent)} not installed: {bench_peers.INSTALL_HINT}"
            else:
                report["runs"][f"torch_{threads}"] = summarize(torch_profile(config, data, threads, args.seed))
    families = sorted({f for r in report["runs"].values() for f in r["by_family"]} | {"(overhead)"})
    names = list(report["runs"])
    print(f"{report['model']}, batch {args.batch_size}, ~{report['tokens_per_step']:.0f} tokens a step, "
          f"{report['machine'].get('cpu', report['machine'])}: seconds per step")
    print("| family | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for fam in families:
        cells = [r["overhead_seconds"] if fam == "(overhead)" else r["by_family"].get(fam, 0.0)
                 for r in report["runs"].values()]
        print(f"| {fam} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    print("| **step (unprofiled)** | " + " | ".join(f"**{r['seconds_per_step']:.3f}**" for r in report["runs"].values()) + " |")
    print("| tokens/s | " + " | ".join(f"{report['tokens_per_step'] / r['seconds_per_step']:.0f}"
                                       for r in report["runs"].values()) + " |")
    if "torch_skipped" in report:
        print(f"torch skipped: {report['torch_skipped']}")
    report["kernels"] = {f"threads_{t}": kernel_times(t) for t in args.threads}
    print("\nsingle operators alone, ms (best of 20): " + ", ".join(
        f"{fw} {t} thread(s)" for t in args.threads for fw in report["kernels"][f"threads_{t}"]))
    for op in report["kernels"][f"threads_{args.threads[0]}"]["paddle"]:
        cells = [report["kernels"][f"threads_{t}"][fw][op] for t in args.threads for fw in report["kernels"][f"threads_{t}"]]
        print(f"| {op} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
