"""Flush-to-zero / denormals-are-zero on every CPU math thread (x86-64 Linux).

A float32 below 1.18e-38 is *denormal*; x86 cores handle it in microcode, tens to hundreds of
times slower than a normal number. Training that drives gradients towards zero (a CRF whose
loss has collapsed, for one) can then slow down step after step inside MKL's and oneDNN's
GEMMs. Two MXCSR bits make the hardware treat such values as zero instead: FTZ (bit 15, results)
and DAZ (bit 6, inputs). The register is per thread, so setting it on the Python thread alone
leaves the math library's worker threads as they were.

:func:`set_flush_denormals` sets (or clears) both bits on the calling thread and on every
thread of each OpenMP runtime already loaded in the process (Paddle's wheels ship Intel's
``libiomp5``, used by MKL and oneDNN; ``libgomp`` may be loaded too): glibc's ``fesetenv`` is
run on each thread of a parallel region through the runtime's ``GOMP_parallel`` entry point,
which both runtimes export. Threads created later inherit the creating thread's MXCSR
(``clone`` copies the FPU state), so a pool that grows keeps the setting.

The effect is numerical only below 1.18e-38 (float32's smallest normal number): such values
become 0. ``PADDLE_NER_DENORMALS=keep`` turns it off (see :func:`wanted`).
"""
from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path
from typing import Dict, List

import numpy as np

FTZ = 1 << 15
DAZ = 1 << 6
_FENV_SIZE = 32  # sizeof(fenv_t) on x86-64 glibc
_MXCSR_OFFSET = 28  # fenv_t.__mxcsr
OPENMP_RUNTIMES = ("libiomp5", "libgomp")
ENV = "PADDLE_NER_DENORMALS"


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def wanted() -> bool:
    """Whether to flush: yes unless ``PADDLE_NER_DENORMALS=keep``."""
    return os.environ.get(ENV, "").strip().lower() != "keep"


def _libm():
    return ctypes.CDLL("libm.so.6")


def mxcsr() -> int:
    """The calling thread's MXCSR."""
    env = ctypes.create_string_buffer(_FENV_SIZE)
    if _libm().fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    return int.from_bytes(env.raw[_MXCSR_OFFSET:_MXCSR_OFFSET + 4], "little")


def loaded_openmp_runtimes() -> List[str]:
    """Paths of the OpenMP runtimes mapped into this process."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if ".so" in line}
    return sorted(p for p in paths if any(Path(p).name.startswith(name) for name in OPENMP_RUNTIMES))


def set_flush_denormals(enabled: bool = True) -> Dict[str, object]:
    """Set (``enabled``) or clear FTZ and DAZ on this thread and every OpenMP worker thread.

    Returns what was done: ``{"enabled", "supported", "runtimes": [paths], "mxcsr": hex}``.
    A no-op (``supported`` false) off x86-64 Linux."""
    if not supported():
        return {"enabled": False, "supported": False, "runtimes": [], "mxcsr": None}
    if enabled:
        # numpy computes (and caches) its float limits on first use; computed under DAZ, the
        # smallest subnormal reads 0 and numpy warns. Compute them while the FPU is still normal.
        for dtype in (np.float16, np.float32, np.float64):
            np.finfo(dtype).smallest_subnormal
    libm = _libm()
    env = ctypes.create_string_buffer(_FENV_SIZE)
    if libm.fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    value = int.from_bytes(env.raw[_MXCSR_OFFSET:_MXCSR_OFFSET + 4], "little")
    value = (value | FTZ | DAZ) if enabled else (value & ~(FTZ | DAZ))
    env[_MXCSR_OFFSET:_MXCSR_OFFSET + 4] = value.to_bytes(4, "little")
    if libm.fesetenv(env) != 0:
        raise OSError("fesetenv failed")
    fesetenv = ctypes.cast(libm.fesetenv, ctypes.c_void_p).value
    runtimes = []
    for path in loaded_openmp_runtimes():
        runtime = ctypes.CDLL(path)  # already mapped: dlopen returns the same handle
        parallel = getattr(runtime, "GOMP_parallel", None)
        if parallel is None:
            continue
        parallel.restype = None
        parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        # fn(data) on every thread of a team of the runtime's default size: fesetenv(env).
        parallel(fesetenv, ctypes.cast(env, ctypes.c_void_p), 0, 0)
        runtimes.append(path)
    return {"enabled": enabled, "supported": True, "runtimes": runtimes, "mxcsr": hex(mxcsr())}
