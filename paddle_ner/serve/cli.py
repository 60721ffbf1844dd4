"""``python -m paddle_ner.serve RUN_DIR_OR_EXPORT_DIR``: serve a model over HTTP, with a page at ``/``.

Binds 127.0.0.1 (this machine only) unless ``--host`` says otherwise. Prints
``serving MODEL (ENGINE) at http://HOST:PORT/`` once it accepts connections. SIGTERM or Ctrl-C
stop accepting connections, finish the requests in flight (``--graceful-timeout`` at most), then
exit 0; a second Ctrl-C stops at once.
"""
from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import List, Optional

from paddle_ner.compat import quiet_imports
from paddle_ner.errors import UsageError, exit_on_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddle_ner.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a training run, a saved model, or an export directory")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to "
                             "every network this machine is on)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    parser.add_argument("--engine", choices=["auto", "inference", "dynamic"], default="auto",
                        help="auto (default): the fastest engine measured for the model and device, as predict "
                             "chooses it (paddle.inference for the transformer encoders on CPU, exporting the run "
                             "once into RUN_DIR/export; dygraph for the BiGRU); inference or dynamic force one")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="auto",
                        help="paddle.inference on CPU: auto (default: oneDNN's bfloat16 pass for the transformer "
                             "encoders on a CPU with amx_bf16 or avx512_bf16, else fp32), fp32, or bf16 (needs "
                             "such a CPU)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU math threads of the model (default 0: all cores for paddle.inference, the "
                             "model's own choice in dygraph)")
    parser.add_argument("--max-batch", type=int, default=32,
                        help="texts per model call when requests are batched (default 32; 1 turns batching off)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0,
                        help="how long the oldest waiting request may wait for others to join its batch "
                             "(default 5 ms; 0: take only what is already queued)")
    parser.add_argument("--no-length-groups", dest="length_groups", action="store_false",
                        help="run each batch as one model call, instead of groups of texts of similar length")
    parser.add_argument("--max-texts", type=int, default=256, help="texts per request (default 256)")
    parser.add_argument("--max-text-chars", type=int, default=10_000,
                        help="characters per text (default 10000)")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20,
                        help="bytes of request body (default 1048576, 1 MiB)")
    parser.add_argument("--graceful-timeout", type=float, default=30.0,
                        help="on SIGTERM, seconds to wait for requests in flight (default 30)")
    parser.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    return parser


def _check(args) -> None:
    if args.threads < 0:
        raise UsageError(f"--threads must be >= 0, got {args.threads}")
    for name in ("max_batch", "max_texts", "max_text_chars", "max_body_bytes"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.max_wait_ms < 0 or args.graceful_timeout < 0:
        raise UsageError("--max-wait-ms and --graceful-timeout must be >= 0")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port (0-65535)")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), or a one-line UsageError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


@exit_on_error
def main(argv: Optional[List[str]] = None) -> int:
    quiet_imports()
    args = build_parser().parse_args(argv)
    _check(args)
    try:
        import uvicorn

        from paddle_ner.serve.app import Limits, create_app
    except ImportError as err:
        raise UsageError(f"serving needs the serve extra ({err}): pip install -e '.[serve]'") from None
    from paddle_ner.serve.batcher import Batcher, model_thread
    from paddle_ner.serve.grouping import GroupedModel, measure_overhead
    from paddle_ner.serve.service import describe, load_predictor, resolve

    # "n of m sentences were split into windows" is news for a corpus, noise for each request
    logging.getLogger("paddle_ner.batching").setLevel(logging.WARNING)
    engine, model_dir = resolve(args.run_dir, args.engine, args.device)
    description = describe(model_dir, engine)
    # The model is loaded and run on one thread (Paddle's thread settings are per thread).
    thread = model_thread()
    if args.precision == "bf16" and engine != "inference":
        raise UsageError(f"--precision {args.precision} applies to the inference engine only (this model is "
                         f"served by the {engine} engine)")
    predictor = thread.submit(load_predictor, model_dir, engine, args.device, max(64, args.max_batch),
                              args.threads, args.precision).result()
    model = predictor
    description["precision"] = getattr(predictor.engine, "precision", "fp32")
    description["batching"] = {"length_groups": args.length_groups}
    if args.length_groups:
        overhead = thread.submit(measure_overhead, predictor).result()
        model = GroupedModel(predictor, overhead)
        description["batching"]["call_overhead_positions"] = round(overhead)
    batcher = Batcher(model, args.max_batch, args.max_wait_ms / 1000, thread=thread)
    app = create_app(batcher, description, Limits(args.max_texts, args.max_text_chars, args.max_body_bytes))

    sock = bind(args.host, args.port)
    url = url_of(sock)
    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log,
                            timeout_graceful_shutdown=args.graceful_timeout, lifespan="on")
    server = make_server(config, ready=f"serving {description['model']} ({engine} engine, {model_dir}) at {url}")
    server.run(sockets=[sock])
    return 0


def make_server(config, ready: str):
    """uvicorn's server, with two changes: it prints ``ready`` once it accepts connections, and
    a SIGTERM ends it with status 0 after a graceful stop (uvicorn re-raises the signal once it
    has stopped, so the process would die of it, status -15)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                print(ready, flush=True)

        def handle_exit(self, sig, frame):
            if self.should_exit and sig in (signal.SIGINT, signal.SIGTERM):
                self.force_exit = True  # a second signal: stop without waiting
            else:
                self.should_exit = True

    return Server(config)


if __name__ == "__main__":
    sys.exit(main())
