"""Flush-to-zero / denormals-are-zero on every CPU math thread (paddle_ner.denormals).

What each OpenMP thread has in its MXCSR is read on that thread itself: a ctypes callback runs
on every thread of a parallel region of each runtime Paddle loaded (libiomp5 for MKL and
oneDNN, libgomp) and reports its id and register. The test fails if only the Python thread
were set (the worker that a 2-thread GEMM starts keeps MXCSR 0x1fa0 otherwise, as measured)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import make_env
from paddle_ner import denormals

pytestmark = pytest.mark.skipif(not denormals.supported(), reason="x86-64 Linux only")

PROBE = r"""
import ctypes, json, sys, threading
import paddle
from paddle.base import core
from paddle_ner import denormals
from paddle_ner.compat import use_cpu_cores

core.set_num_threads(2)
a = paddle.full([1024, 1024], 1e-39, dtype="float32")   # denormal inputs
b = paddle.ones([1024, 1024], dtype="float32")
(a @ b).numpy()                                          # starts the GEMM's worker threads

CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def threads():
    out = {}
    for path in denormals.loaded_openmp_runtimes():
        seen = []
        cb = CALLBACK(lambda _: seen.append((threading.get_native_id(), denormals.mxcsr())))
        parallel = ctypes.CDLL(path).GOMP_parallel
        parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        parallel(ctypes.cast(cb, ctypes.c_void_p), None, 0, 0)
        out[path.rsplit("/", 1)[-1]] = seen
    return out

report = {"default": threads(), "gemm_default": float((a @ b).numpy().max())}
use_cpu_cores(single_thread=False)                       # what train / evaluate / predict call
report["flushed"] = threads()
report["gemm_flushed"] = float((a @ b).numpy().max())
x = paddle.full([8], 1e-20, dtype="float32")
report["product_flushed"] = float((x * x).numpy().max())  # 1e-40: a denormal result
denormals.set_flush_denormals(False)
report["cleared"] = threads()
report["gemm_cleared"] = float((a @ b).numpy().max())
print(json.dumps(report))
"""


def probe(env_extra=None):
    env = make_env()
    env.pop(denormals.ENV, None)
    env.update(env_extra or {})
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def bits(report_threads):
    return {(lib, tid): value & (denormals.FTZ | denormals.DAZ)
            for lib, seen in report_threads.items() for tid, value in seen}


def test_every_math_thread_flushes_and_the_switch_clears_them():
    report = probe()
    assert "libiomp5.so" in report["flushed"], report["flushed"]  # MKL's and oneDNN's runtime
    # the GEMM ran on more than the Python thread, and those workers are the ones set
    assert any(len({tid for tid, _ in seen}) > 1 for seen in report["flushed"].values())
    assert set(bits(report["default"]).values()) == {0}
    assert set(bits(report["flushed"]).values()) == {denormals.FTZ | denormals.DAZ}
    assert set(bits(report["cleared"]).values()) == {0}
    # numerics: denormal inputs count as 0 and denormal results become 0, only while flushing
    assert report["gemm_default"] == pytest.approx(1024 * 1e-39, rel=1e-3)
    assert report["gemm_flushed"] == 0.0
    assert report["product_flushed"] == 0.0
    assert report["gemm_cleared"] == pytest.approx(1024 * 1e-39, rel=1e-3)


def test_keep_opts_out():
    report = probe({denormals.ENV: "keep"})
    assert set(bits(report["flushed"]).values()) == {0}
    assert report["gemm_flushed"] == pytest.approx(1024 * 1e-39, rel=1e-3)


def test_normal_float32_results_are_unchanged():
    """Above float32's smallest normal number nothing changes: the same GEMM and CRF loss, bit
    for bit, with and without flushing."""
    import paddle

    from paddle_ner.crf import CRF

    rng = np.random.default_rng(0)
    a = paddle.to_tensor(rng.standard_normal((64, 256)).astype("float32"))
    b = paddle.to_tensor(rng.standard_normal((256, 64)).astype("float32"))
    emissions = paddle.to_tensor(rng.standard_normal((4, 9, 7)).astype("float32"))
    tags = paddle.to_tensor(rng.integers(0, 7, (4, 9)).astype("int64"))
    lengths = paddle.to_tensor(np.array([9, 5, 1, 7], dtype="int64"))
    paddle.seed(0)
    crf = CRF(7)
    try:
        denormals.set_flush_denormals(False)
        plain = [(a @ b).numpy(), crf.nll(emissions, tags, lengths).numpy()]
        denormals.set_flush_denormals(True)
        flushed = [(a @ b).numpy(), crf.nll(emissions, tags, lengths).numpy()]
    finally:
        denormals.set_flush_denormals(denormals.wanted())
    for x, y in zip(plain, flushed):
        np.testing.assert_array_equal(x, y)


def test_run_json_records_it(tmp_path):
    from paddle_ner import train as train_cli

    out = tmp_path / "run"
    assert train_cli.main(["--model", "bigru_crf", "--dataset", "sample", "--device", "cpu", "--max-steps", "1",
                           "--set", "train.batch_size=4", "--output", str(out)]) == 0
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["flush_denormals"] is True
