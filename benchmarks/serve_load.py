"""Load test of `python -m paddle_ner.serve`: K concurrent clients for T seconds, on loopback only.

For each run directory given, this script

1. times ``predict --input``'s tagging of the texts (the same ``Predictor`` call, batch 64,
   in a child process, model loading excluded): the offline reference;
2. starts the server (``--port 0`` on 127.0.0.1) once per setting: batching off
   (``--max-batch 1 --max-wait-ms 0``) and on (``--max-batch B``) with each ``--waits`` value;
3. runs ``--clients`` concurrent clients, each on its own keep-alive connection, each sending one
   request of ``--texts-per-request`` texts at a time and waiting for its answer, for ``--seconds``
   seconds or ``--max-requests`` requests, whichever comes first (every loop is bounded and
   stops by itself);
4. checks every answer: status 200, as many results as texts, each result's text the one sent and
   one tag per character; counts errors (non-200, broken connections), lost requests (no answer
   within ``--timeout``) and mismatched ones;
5. stops the server with SIGTERM and checks that it exits 0.

It reports texts/s, characters/s, latency percentiles, the mean batch the server ran (from
/healthz), the share of the time the model was busy (model calls' seconds / wall seconds: near
1, the model is the bottleneck, not the server), the counts above and the CPU the clients
themselves used (in cores), as a table and as JSON (``--out``). The texts are a corpus's
sentences (SIGHAN MSRA test when ``../shared/data`` has it, else data/sample), cycled.

    python benchmarks/serve_load.py runs/demo runs/standin-bert --clients 16 --seconds 20

The clients run in this process and share the machine with the server: on a 2-core machine they
take CPU time the server would otherwise have, so served figures are a lower bound.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]
SIGHAN_TEST = REPO.parent / "shared" / "data" / "msra_ner" / "sighan2006" / "test.txt"
HOST = "127.0.0.1"  # loopback only, whatever the arguments


def load_texts(path: Optional[Path], limit: int) -> List[str]:
    from paddle_ner.data import read_corpus

    if path is None:
        path = SIGHAN_TEST if SIGHAN_TEST.is_file() else REPO / "data" / "sample" / "test.txt"
    texts = ["".join(s.chars) for s in read_corpus(path).sentences]
    return [t for t in texts if t][:limit]


# --- the offline reference ------------------------------------------------------------------------

OFFLINE = r"""
import json, sys, time
from paddle_ner.compat import quiet_imports
quiet_imports()
from paddle_ner.serve.service import load_predictor, resolve
run, engine, path, repeats, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
texts = open(path, encoding="utf-8").read().splitlines()
engine, model_dir = resolve(run, engine)
predictor = load_predictor(model_dir, engine, batch_size=64, threads=threads)
predictor(texts[:64])
times = []
for _ in range(repeats):
    start = time.perf_counter()
    predictor(texts)
    times.append(time.perf_counter() - start)
print(json.dumps({"engine": engine, "seconds": sorted(times)}))
"""


def offline(run: str, engine: str, texts: List[str], work: Path, threads: int, repeats: int = 3) -> dict:
    """``predict --input``'s tagging throughput on ``texts`` (median of ``repeats`` passes), with
    the server's thread count."""
    path = work / "texts.txt"
    path.write_text("\n".join(texts), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", OFFLINE, run, engine, str(path), str(repeats), str(threads)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    seconds = statistics.median(result["seconds"])
    chars = sum(map(len, texts))
    return {"engine": result["engine"], "texts": len(texts), "seconds": round(seconds, 3),
            "texts_per_s": round(len(texts) / seconds, 1), "chars_per_s": round(chars / seconds)}


# --- the server -----------------------------------------------------------------------------------

class Server:
    def __init__(self, run: str, flags: List[str]):
        cmd = [sys.executable, "-m", "paddle_ner.serve", run, "--host", HOST, "--port", "0", *flags]
        # stderr to a file: a pipe that nobody reads fills up and blocks the server
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        try:
            line = lines.get(timeout=180)
        except queue.Empty:
            self.process.kill()
            raise RuntimeError("the server did not start") from None
        if not line.startswith("serving "):
            self.process.kill()
            self.log.seek(0)
            raise RuntimeError(f"the server did not start: {line}{self.log.read()}")
        url = line.strip().split(" at ")[-1]
        self.port = int(url.rstrip("/").rsplit(":", 1)[1])

    def stop(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return -9


# --- the clients: HTTP/1.1 keep-alive over asyncio streams ---------------------------------------

async def request(reader, writer, method: str, path: str, body: bytes = b"") -> (int, bytes):
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "content-length")
    return status, await reader.readexactly(length)


async def get_json(port: int, path: str) -> dict:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        return json.loads((await request(reader, writer, "GET", path))[1])
    finally:
        writer.close()


class Tally:
    def __init__(self):
        self.latencies: List[float] = []
        self.texts = self.chars = self.errors = self.lost = self.mismatched = 0


async def client(index: int, port: int, texts: List[str], per_request: int, clients: int, deadline: float,
                 budget: List[int], timeout: float, tally: Tally) -> None:
    reader = writer = None
    step = 0
    while time.monotonic() < deadline and budget[0] > 0:  # bounded by time and by count
        budget[0] -= 1
        start = (index + step * clients) * per_request
        sent = [texts[(start + k) % len(texts)] for k in range(per_request)]
        step += 1
        body = json.dumps({"texts": sent}, ensure_ascii=False).encode()
        began = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            status, payload = await asyncio.wait_for(request(reader, writer, "POST", "/v1/ner", body), timeout)
        except asyncio.TimeoutError:
            tally.lost += 1
            writer.close()
            reader = writer = None
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        tally.latencies.append(time.perf_counter() - began)
        if status != 200:
            tally.errors += 1
            continue
        results = json.loads(payload)["results"]
        if len(results) != len(sent) or any(r["text"] != t or len(r["tags"]) != len(t)
                                            for r, t in zip(results, sent)):
            tally.mismatched += 1
            continue
        tally.texts += len(sent)
        tally.chars += sum(map(len, sent))
    if writer is not None:
        writer.close()


async def load(port: int, texts: List[str], clients: int, seconds: float, per_request: int, max_requests: int,
               timeout: float) -> dict:
    for _ in range(3):  # warm-up: the first calls of a predictor are slow (allocations, oneDNN plans)
        await asyncio.gather(*(client(i, port, texts, per_request, clients, time.monotonic() + 1.0, [clients],
                                      timeout, Tally()) for i in range(clients)))
    before = await get_json(port, "/healthz")
    tally = Tally()
    cpu = time.process_time()
    started = time.monotonic()
    budget = [max_requests]
    await asyncio.gather(*(client(i, port, texts, per_request, clients, started + seconds, budget, timeout, tally)
                           for i in range(clients)))
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - cpu
    after = await get_json(port, "/healthz")
    lat = sorted(tally.latencies) or [float("nan")]

    def pct(q):
        return round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 1)

    batches = after["batches"] - before["batches"]
    return {"requests": len(tally.latencies) + tally.lost, "seconds": round(elapsed, 1),
            "texts_per_s": round(tally.texts / elapsed, 1), "chars_per_s": round(tally.chars / elapsed),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_batch": round((after["texts"] - before["texts"]) / batches, 1) if batches else None,
            "model_busy": round((after["model_seconds"] - before["model_seconds"]) / elapsed, 2),
            "errors": tally.errors, "lost": tally.lost, "mismatched": tally.mismatched,
            "client_cpu_cores": round(client_cpu / elapsed, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="run or export directories to serve")
    p.add_argument("--engine", default="auto", choices=["auto", "inference", "dynamic"])
    p.add_argument("--threads", type=int, default=0, help="the server's --threads (and predict's)")
    p.add_argument("--server-flags", default="", help="more flags for the server, e.g. '--no-length-groups'")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--texts-per-request", type=int, default=1)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--waits", type=float, nargs="+", default=[0, 2, 5, 10], help="--max-wait-ms values, batching on")
    p.add_argument("--max-requests", type=int, default=200_000, help="per setting, at most")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as lost")
    p.add_argument("--texts", type=Path, help="corpus to take the texts from (default SIGHAN test or data/sample)")
    p.add_argument("--limit", type=int, default=2000, help="texts taken from it")
    p.add_argument("--out", type=Path, default=REPO / "results" / "serve_load.json")
    args = p.parse_args()

    from paddle_ner.provenance import report_header, write_report

    texts = load_texts(args.texts, args.limit)
    work = REPO / "runs" / "serve_load"
    work.mkdir(parents=True, exist_ok=True)
    report = {**report_header("python benchmarks/serve_load.py " + " ".join(sys.argv[1:])),
              "settings": {k: (os.path.relpath(v, REPO) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "texts": {"count": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts), 1)}, "runs": {}}
    settings = [("off (batch 1)", ["--max-batch", "1", "--max-wait-ms", "0"])]
    settings += [(f"on, wait {w:g} ms", ["--max-batch", str(args.max_batch), "--max-wait-ms", f"{w:g}"])
                 for w in args.waits]
    rows = []
    for run in args.runs:
        reference = offline(run, args.engine, texts, work, args.threads)
        entry = {"predict": reference, "serve": {}}
        print(f"{run}: predict --input ({reference['engine']}) {reference['texts_per_s']} texts/s", flush=True)
        for name, flags in settings:
            server = Server(run, ["--engine", args.engine, "--threads", str(args.threads), *flags,
                                  *shlex.split(args.server_flags)])
            load_average = os.getloadavg()[0]  # another job on the machine skews everything: recorded
            try:
                result = asyncio.run(load(server.port, texts, args.clients, args.seconds, args.texts_per_request,
                                          args.max_requests, args.timeout))
            finally:
                result_exit = server.stop()
            result["exit_status"] = result_exit
            result["load_average_before"] = round(load_average, 2)
            result["vs_predict"] = round(result["texts_per_s"] / reference["texts_per_s"], 2)
            entry["serve"][name] = result
            rows.append((run, name, result))
            print(f"  batching {name}: {json.dumps(result)}", flush=True)
        off = entry["serve"][settings[0][0]]["texts_per_s"]
        entry["batching_gain"] = {name: round(r["texts_per_s"] / off, 2) for name, r in entry["serve"].items()}
        entry["total"] = {k: sum(r[k] for r in entry["serve"].values())
                          for k in ("requests", "errors", "lost", "mismatched")}
        report["runs"][run] = entry

    write_report(args.out, report)
    print(f"\n{report['machine']['device_name']}, {args.clients} clients x {args.texts_per_request} text(s), "
          f"{args.seconds:g} s per setting, {len(texts)} texts of {report['texts']['mean_chars']} characters "
          f"on average")
    print("| run | batching | requests | texts/s | chars/s | vs predict | p50 ms | p95 ms | p99 ms | mean batch "
          "| model busy | errors | lost | mismatched | client CPU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run, name, r in rows:
        print(f"| {run} | {name} | {r['requests']} | {r['texts_per_s']} | {r['chars_per_s']} | {r['vs_predict']}x | "
              f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['mean_batch']} | {r['model_busy']} | "
              f"{r['errors']} | {r['lost']} | "
              f"{r['mismatched']} | {r['client_cpu_cores']} |")
    for run, entry in report["runs"].items():
        total = entry["total"]
        print(f"{run}: {total['requests']} requests in all, {total['errors']} errors, {total['lost']} lost, "
              f"{total['mismatched']} mismatched")
    for run, entry in report["runs"].items():
        print(f"{run}: predict --input {entry['predict']['texts_per_s']} texts/s; batching gain over batch 1: "
              + ", ".join(f"{k} {v}x" for k, v in entry["batching_gain"].items()))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
