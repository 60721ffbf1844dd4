"""Where a result came from: code commit, package versions, device and machine."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional

from paddle_ner.mkl_dispatch import in_force

REPO = Path(__file__).resolve().parents[1]


def git_commit() -> Optional[str]:
    """HEAD of the checkout this package runs from, with ``-dirty`` when files are modified
    (untracked files do not count); None outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> Dict[str, Optional[str]]:
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for dist in ("paddle-ner", "paddlepaddle", "paddlepaddle-gpu", "paddlenlp", "numpy", "seqeval"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def device_name(device: str) -> str:
    """A human name for the device: the GPU's name, or the CPU model and core count."""
    if device == "gpu":
        try:
            import paddle  # lazily: integrity and the benchmarks use this module without Paddle

            return paddle.device.cuda.get_device_name()
        except Exception:  # noqa: BLE001 - a name is nice to have, never worth failing over
            return "gpu"
    return f"{cpu_model()} ({os.cpu_count()} cores)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> List[str]:
    """The processor's flags that decide the GEMM kernels: AVX2/FMA, AVX-512, bf16, AMX."""
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def has_bf16() -> bool:
    """Whether the processor has bf16 instructions (AMX or AVX-512 BF16)."""
    return bool({"amx_bf16", "avx512_bf16"} & set(cpu_flags()))


def machine(device: str = "cpu") -> dict:
    return {"device": device, "device_name": device_name(device), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "argv0": sys.argv[0]}


def report_header(command: str) -> dict:
    """What every benchmark report starts with: the command, the commit, the package versions,
    the machine, the processor's flags and MKL's dispatch setting."""
    return {"command": command, "commit": git_commit(), "versions": package_versions(), "machine": machine("cpu"),
            "cpu_flags": cpu_flags(), "mkl_dispatch": in_force()}


def write_report(path: Optional[Path], report: dict) -> None:
    """A benchmark's JSON report to ``path`` (parents made; nothing when ``path`` is None), and a
    line saying where it went."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
