"""MKL's code path on AMD processors: ``MKL_DEBUG_CPU_TYPE=5`` before Paddle's first matrix product.

Paddle's CPU wheels (2.6 and 3.x) link an MKL that picks a slow generic GEMM on a processor
whose vendor is not Intel, unless ``MKL_DEBUG_CPU_TYPE=5`` is in the environment when MKL first
dispatches (its first call, not its load: a value set after ``import paddle`` but before any
matmul still acts; one set after the first matmul does not). paddle.inference's oneDNN kernels
do not go through that dispatch. Figures: ``docs/performance.md``.

:func:`fix_dispatch` runs when ``paddle_ner`` is imported (``paddle_ner/__init__.py``), so every
entry point, benchmark script and ``paddle.distributed.launch`` rank has it before Paddle loads,
and child processes inherit it through the environment. A value the user set is never changed;
``PADDLE_NER_MKL_DISPATCH=off`` leaves the environment alone.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping, Optional

ENV = "MKL_DEBUG_CPU_TYPE"
SWITCH = "PADDLE_NER_MKL_DISPATCH"
AMD = "AuthenticAMD"
AVX2_PATH = "5"  # MKL's AVX2 code path, which AMD's Zen cores run at full speed
CPUINFO = Path("/proc/cpuinfo")


def cpu_vendor(cpuinfo: Optional[Path] = None) -> Optional[str]:
    """The first ``vendor_id`` of ``cpuinfo`` (default :data:`CPUINFO`): ``AuthenticAMD``,
    ``GenuineIntel``; None where there is no such file (not Linux) or line (not x86)."""
    try:
        with open(cpuinfo or CPUINFO, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def fix_dispatch(environ: Optional[MutableMapping[str, str]] = None, cpuinfo: Optional[Path] = None) -> None:
    """Set ``MKL_DEBUG_CPU_TYPE=5`` in ``environ`` (default ``os.environ``) on an AMD processor,
    unless the variable is already set or ``PADDLE_NER_MKL_DISPATCH=off``."""
    environ = os.environ if environ is None else environ
    if environ.get(SWITCH, "").strip().lower() == "off" or ENV in environ:
        return
    if cpu_vendor(cpuinfo) == AMD:
        environ[ENV] = AVX2_PATH


def in_force(environ: Optional[MutableMapping[str, str]] = None, cpuinfo: Optional[Path] = None) -> dict:
    """What ``run.json`` and benchmark reports record: the processor's vendor, the value of
    ``MKL_DEBUG_CPU_TYPE`` (None when unset) and of the ``PADDLE_NER_MKL_DISPATCH`` switch."""
    environ = os.environ if environ is None else environ
    return {"cpu_vendor": cpu_vendor(cpuinfo), ENV: environ.get(ENV), SWITCH: environ.get(SWITCH)}


def changed_since(recorded: Optional[dict], environ: Optional[MutableMapping[str, str]] = None) -> Optional[str]:
    """One line when ``recorded`` (a run's :func:`in_force`) had another ``MKL_DEBUG_CPU_TYPE``
    than this process; None when they agree or the run recorded nothing (older runs)."""
    if not recorded or ENV not in recorded:
        return None
    now = (os.environ if environ is None else environ).get(ENV)
    if now == recorded[ENV]:
        return None
    return (f"{ENV} was {recorded[ENV]!r} when this run started and is {now!r} now: MKL takes another code path, "
            f"so the resumed steps are not bit-identical to an uninterrupted run")
