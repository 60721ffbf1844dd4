"""The HTTP server (paddle_ner/serve): API results equal predict's, dynamic batching, bad input,
graceful stop. In process through FastAPI's TestClient, and as `python -m paddle_ner.serve` in a
subprocess on 127.0.0.1 for the stop and the command line."""
import asyncio
import hashlib
import json
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import pytest

from conftest import REPO, SAMPLE_DIR

fastapi = pytest.importorskip("fastapi", reason="the serve extra is not installed")

with warnings.catch_warnings():  # starlette 1.x: "install httpx2" (httpx is what the stacks pin)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from paddle_ner import predict as predict_cli  # noqa: E402
from paddle_ner.serve import build_parser  # noqa: E402
from paddle_ner.serve.app import Limits, create_app, parse_texts  # noqa: E402
from paddle_ner.serve.batcher import Batcher  # noqa: E402
from paddle_ner.serve.service import describe, load_predictor, resolve  # noqa: E402

# Sentences of the 8 the test model is trained on (so its entities are known), and the awkward
# Unicode `predict` already survives. No line breaks of str.splitlines: predict reads lines.
KNOWN = {"周文博说：“我很喜欢南昌的美食。”": [("PER", 0, 3), ("LOC", 10, 12)],
         "郭桂英（中山大学研究员）认为，市场需求仍然旺盛。": [("PER", 0, 3), ("ORG", 4, 8)]}
AWKWARD = ["", " ", "\u200d", "\x00", "\u0301", "e\u0301", "\U0001f469\u200d\U0001f4bb在北京", "\U00020000\U00020001",
           "\x07\x1b\x7f", "ＭＳＲＡ　全角", "\ufe0f", "a\tb", "周文博说：“我很喜欢南昌的美食。”" * 30]
TEXTS = list(KNOWN) + AWKWARD


def serve_run(tmp_path_factory):
    """A small BiGRU trained to fit 8 sample sentences (~6 s), with its export: trained once per
    session, shared by the serve tests through the session's base temporary directory."""
    from paddle_ner import export as export_cli
    from paddle_ner import train as train_cli
    from paddle_ner.data import read_corpus, write_corpus

    run = tmp_path_factory.getbasetemp() / "serve-run"
    if not (run / "export" / "manifest.json").is_file():
        eight = tmp_path_factory.getbasetemp() / "serve-eight.txt"
        write_corpus(read_corpus(SAMPLE_DIR / "train.txt").sentences[:8], eight)
        files = ["--train", str(eight), "--dev", str(eight), "--test", str(eight)]
        assert train_cli.main(["--model", "bigru_crf", *files, "--output", str(run), "--set", "model.emb_dim=32",
                               "--set", "model.hidden_size=32", "--set", "train.epochs=40",
                               "--set", "train.batch_size=8", "--set", "train.lr=0.01"]) == 0
        assert export_cli.main([str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return serve_run(tmp_path_factory)


def make_client(run, engine="inference", limits=None, max_batch=32, max_wait=0.005):
    engine, model_dir = resolve(run, engine)
    batcher = Batcher(load_predictor(model_dir, engine), max_batch, max_wait)
    return TestClient(create_app(batcher, describe(model_dir, engine), limits)), batcher


@pytest.fixture(scope="module")
def client(run):
    client, _ = make_client(run, limits=Limits(max_texts=4, max_text_chars=50, max_body_bytes=100_000))
    with client:
        yield client


def predict_lines(run, texts, engine, tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts), encoding="utf-8")
    capsys.readouterr()
    args = [str(run), "--input", str(path)] + (["--engine", "inference"] if engine == "inference" else [])
    assert predict_cli.main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("engine", ["inference", "dynamic"])
def test_api_results_are_exactly_what_predict_prints(run, engine, tmp_path, capsys):
    expected = predict_lines(run, TEXTS, engine, tmp_path, capsys)
    assert len(expected) == len(TEXTS)
    client, _ = make_client(run, engine)
    with client:
        response = client.post("/v1/ner", json={"texts": TEXTS})
        assert response.status_code == 200
        results = response.json()["results"]
        assert results == expected
        # one text at a time, too (other batches, other padding): the same
        assert [client.post("/v1/ner", json={"texts": [t]}).json()["results"][0] for t in TEXTS] == expected
        assert client.get("/v1/model").json()["engine"] == engine
    for text, result in zip(TEXTS, results):
        assert result["text"] == text and len(result["tags"]) == len(text)
        assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
    for text, spans in KNOWN.items():
        assert [(e["type"], e["start"], e["end"]) for e in results[TEXTS.index(text)]["entities"]] == spans


def test_auto_engine_is_the_one_predict_uses(run):
    # the BiGRU tags faster in dygraph than through its export (registry.fastest_engine)
    assert resolve(run) == ("dynamic", run / "model")
    assert resolve(run / "model") == ("dynamic", run / "model")
    assert resolve(run / "export") == ("inference", run / "export")  # an export has only that engine


def test_model_description(client, run):
    info = client.get("/v1/model").json()
    assert info["model"] == "bigru_crf"
    assert info["labels"] == json.loads((run / "labels.json").read_text())["labels"]
    assert info["types"] == ["LOC", "ORG", "PER"]
    assert info["run"]["recipe"] == "ours"
    assert info["run"]["versions"] == json.loads((run / "run.json").read_text())["versions"]
    assert info["manifest"]["kind"] == "export"
    assert info["manifest"]["sha256"] == hashlib.sha256((run / "export" / "manifest.json").read_bytes()).hexdigest()
    assert info["limits"] == {"max_texts": 4, "max_text_chars": 50, "max_body_bytes": 100_000}
    assert client.get("/healthz").json()["status"] == "ok"
    assert "/v1/ner" in client.get("/openapi.json").json()["paths"]


BAD = [  # body, status, error code, words of the message
    (b'{"texts": ["a"', 400, "invalid_json", "not valid JSON"),
    (b"", 400, "invalid_json", "not valid JSON"),
    (b'{"texts": ["\xff"]}', 400, "invalid_json", "not UTF-8"),
    (b"[" * 50_000 + b"]" * 50_000, 400, "invalid_json", "nested too deeply"),
    (b'["a"]', 422, "invalid_request", "must be a JSON object"),
    (b"{}", 422, "invalid_request", 'missing field "texts"'),
    (b'{"text": ["a"]}', 422, "invalid_request", 'missing field "texts"'),
    (b'{"texts": ["a"], "lang": "zh"}', 422, "invalid_request", 'unknown field "lang"'),
    (b'{"texts": "a"}', 422, "invalid_request", '"texts" must be a list of strings, got a string'),
    (b'{"texts": null}', 422, "invalid_request", "got null"),
    (b'{"texts": ["a", 1]}', 422, "invalid_request", "texts[1] must be a string, got a number"),
    (b'{"texts": [["a"]]}', 422, "invalid_request", "texts[0] must be a string, got a list"),
    (b'{"texts": ["\\ud800"]}', 422, "invalid_text", "lone surrogate"),
    (b'{"texts": ["a", "b", "c", "d", "e"]}', 413, "too_many_texts", "the limit is 4"),
    (json.dumps({"texts": ["x" * 51]}).encode(), 413, "text_too_long", "texts[0] has 51 characters; the limit is 50"),
    (json.dumps({"texts": ["x"], "pad": " " * 100_000}).encode(), 413, "body_too_large", "the limit is 100000"),
]


@pytest.mark.parametrize("body,status,code,words", BAD, ids=[b[2] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_input_is_a_clear_4xx_and_the_next_request_is_served(client, body, status, code, words):
    response = client.post("/v1/ner", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error
    ok = client.post("/v1/ner", json={"texts": ["王芳说"]})
    assert ok.status_code == 200 and ok.json()["results"][0]["text"] == "王芳说"


def test_a_large_body_without_content_length_is_refused_while_read(client):
    def chunks():  # chunked transfer: the size is only known by reading
        yield b'{"texts": ["'
        for _ in range(200):
            yield b"x" * 1000
        yield b'"]}'

    response = client.post("/v1/ner", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


def test_empty_list_and_other_routes(client):
    assert client.post("/v1/ner", json={"texts": []}).json() == {"results": []}
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    wrong = client.get("/v1/ner")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for asset in ("ner.js", "page.js", "ner.css", "page.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_the_page_loads_nothing_from_outside():
    """Offline: every asset is the package's own, referenced by a relative URL."""
    import re

    from paddle_ner.serve.app import STATIC

    page = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert "static/ner.js" in refs and "static/ner.css" in refs
    assert all(":" not in ref and not ref.startswith("/") for ref in refs), refs
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        for ref in ("http:", "https:", "@import", "url("):
            assert ref not in text, (path.name, ref)
        if path.suffix == ".js":
            assert not re.search(r'fetch\("/', text), path.name  # relative: works under a prefix too


def test_parse_texts_takes_any_unicode_text():
    assert parse_texts(json.dumps({"texts": AWKWARD}).encode(), Limits(max_texts=99, max_text_chars=999)) == AWKWARD


def test_concurrent_requests_are_batched_and_each_gets_its_own_texts(run):
    """32 clients at once through the real model: fewer model calls than requests, and every
    response holds exactly the texts its request sent, tagged as when sent alone."""
    texts = [f"王芳说{i}号去南昌" + "。" * (i % 7) for i in range(32)]
    client, batcher = make_client(run, max_batch=16, max_wait=0.05)
    with client:
        alone = {t: client.post("/v1/ner", json={"texts": [t]}).json()["results"][0] for t in texts[:4]}
        calls_before = batcher.batches
        results, errors = {}, []

        def ask(i):
            try:
                sent = [texts[i], texts[(i + 1) % 32]]
                got = client.post("/v1/ner", json={"texts": sent}).json()["results"]
                results[i] = (sent, got)
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(results) == 32
        for sent, got in results.values():
            assert [r["text"] for r in got] == sent
            for r in got:
                if r["text"] in alone:
                    assert r == alone[r["text"]]
        assert batcher.batches - calls_before < 32


# --- the batcher on its own, with a model that records its calls ---------------------------------

class Recorder:
    def __init__(self, delay=0.0, poison=None):
        self.calls, self.delay, self.poison = [], delay, poison

    def __call__(self, texts):
        self.calls.append(list(texts))
        time.sleep(self.delay)
        if self.poison in texts:
            raise ValueError("poisoned")
        return [t.upper() for t in texts]


def run_batcher(model, requests, max_batch, max_wait, gap=0.0):
    async def main():
        batcher = Batcher(model, max_batch, max_wait)
        await batcher.start()

        async def one(i, texts):
            await asyncio.sleep(gap * i)
            try:
                return await batcher.submit(texts)
            except ValueError as err:
                return err

        out = await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        await batcher.close()
        return out

    return asyncio.run(main())


def test_batcher_groups_up_to_max_batch_and_returns_each_its_own():
    model = Recorder(delay=0.01)
    requests = [[f"t{i}a", f"t{i}b"] for i in range(20)] + [[f"big{k}" for k in range(9)]]
    out = run_batcher(model, requests, max_batch=8, max_wait=0.02)
    assert out == [[t.upper() for t in r] for r in requests]
    assert all(len(call) <= 8 for call in model.calls if not call[0].startswith("big"))
    assert ["big0", "big1"] == [t for t in model.calls[-1] if t.startswith("big")][:2]  # never split
    assert len(model.calls) <= 8  # 49 texts, batches of up to 8 (plus the one of 9)
    assert sorted(t for call in model.calls for t in call) == sorted(t for r in requests for t in r)


def test_batch_size_one_is_one_call_per_request():
    model = Recorder()
    out = run_batcher(model, [["a"], ["b"], ["c", "d"]], max_batch=1, max_wait=0)
    assert out == [["A"], ["B"], ["C", "D"]]
    assert model.calls == [["a"], ["b"], ["c", "d"]]


def test_a_lone_request_waits_at_most_max_wait():
    model = Recorder()
    start = time.monotonic()
    assert run_batcher(model, [["a"]], max_batch=8, max_wait=0.2) == [["A"]]
    assert 0.15 < time.monotonic() - start < 2


def test_a_failing_batch_fails_only_the_request_that_breaks_it():
    model = Recorder(poison="bad")
    out = run_batcher(model, [["a"], ["bad"], ["c"]], max_batch=8, max_wait=0.05)
    assert out[0] == ["A"] and out[2] == ["C"]
    assert isinstance(out[1], ValueError)


def test_batcher_rejects_bad_settings():
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(Recorder(), 0, 0.01)
    with pytest.raises(ValueError, match="max_wait"):
        Batcher(Recorder(), 4, -1)


# --- length groups ---------------------------------------------------------------------------------

def test_split_by_length_finds_the_cheapest_groups():
    from paddle_ner.serve.grouping import split_by_length

    lengths, rows = [100, 3, 2, 4, 90], [1] * 5
    # cheap calls: the short texts apart from the long ones, each run sorted by length
    # (cost 15 + 3 x 4 + 15 + 2 x 100 = 242; one call 515, five calls 274)
    assert split_by_length(lengths, rows, overhead=15, min_saving=0) == [[2, 1, 3], [4, 0]]
    # costly calls: one call for all, whatever the padding
    assert split_by_length(lengths, rows, overhead=10_000, min_saving=0) == [[2, 1, 3, 4, 0]]
    # a split that saves less than min_saving of one call is not worth it (34 against 42: 19%)
    assert split_by_length([10, 20], [1, 1], overhead=2, min_saving=0) == [[0], [1]]
    assert split_by_length([10, 20], [1, 1], overhead=2, min_saving=0.25) == [[0, 1]]
    # a text cut into windows weighs as its windows
    assert split_by_length([5, 5, 100], [1, 1, 3], overhead=1, min_saving=0) == [[0, 1], [2]]
    assert split_by_length([], [], overhead=1) == []
    big = split_by_length([i % 50 + 1 for i in range(300)], [1] * 300, overhead=20)
    assert sorted(i for g in big for i in g) == list(range(300)) and max(map(len, big)) <= 64


def test_grouped_model_gives_the_predictors_results(run):
    from paddle_ner.serve.grouping import GroupedModel, measure_overhead

    engine, model_dir = resolve(run)
    predictor = load_predictor(model_dir, engine)
    assert 0 <= measure_overhead(predictor) < float("inf")
    grouped = GroupedModel(predictor, overhead=0)  # as many groups as lengths
    assert grouped(TEXTS) == predictor(TEXTS)
    assert grouped([]) == [] and grouped(TEXTS[:1]) == predictor(TEXTS[:1])


# --- the command line, in a subprocess ------------------------------------------------------------

class Server:
    """`python -m paddle_ner.serve ARGS --port 0` in a subprocess; ``url`` once it is ready. Its
    stderr goes to a file: a pipe nobody reads fills up and blocks the server."""

    def __init__(self, *args):
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen([sys.executable, "-m", "paddle_ner.serve", *map(str, args), "--port", "0"],
                                        cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        deadline = time.monotonic() + 120
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                raise AssertionError("the server did not start: " + self.stderr()) from None
            if line.startswith("serving "):
                self.ready = line.strip()
                self.url = line.split(" at ")[-1].strip()
                return

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout=60):
        """SIGTERM; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def post(url, texts, timeout=30):
    import urllib.request

    request = urllib.request.Request(url + "v1/ner", data=json.dumps({"texts": texts}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def test_sigterm_finishes_the_requests_in_flight_then_exits_0(run):
    """Requests wait in the batcher (a 3 s batching wait) when SIGTERM arrives: each still gets
    its answer, then the process exits with status 0."""
    import urllib.request

    server = Server(run, "--max-wait-ms", "3000", "--max-batch", "64")
    try:
        assert server.url.startswith("http://127.0.0.1:"), server.ready  # loopback unless told otherwise
        assert post(server.url, ["王芳说"])[0] == 200
        answers = {}

        def ask(i):
            try:
                answers[i] = post(server.url, [f"王芳{i}"])
            except Exception as err:  # noqa: BLE001 - checked below
                answers[i] = err

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until all 8 wait for their batch
            with urllib.request.urlopen(server.url + "healthz", timeout=10) as response:
                if json.loads(response.read())["queued"] == 8:
                    break
            time.sleep(0.02)
        assert server.process.poll() is None
        server.process.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(30)
        # wait, do not signal again: a second SIGTERM that lands after uvicorn has restored the
        # default handlers (interpreter teardown) kills the process (-15), which is not the point
        assert server.process.wait(60) == 0
    finally:
        server.stop()
    for i in range(8):
        status, body = answers[i]
        assert status == 200 and [r["text"] for r in body["results"]] == [f"王芳{i}"]
        assert len(body["results"][0]["tags"]) == len(f"王芳{i}")


def test_cli_refuses_what_it_cannot_serve(tmp_path, run):
    def serve(*args):
        return subprocess.run([sys.executable, "-m", "paddle_ner.serve", *map(str, args)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)

    missing = serve(tmp_path / "nothing")
    assert missing.returncode == 2 and "no such run directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_weights = serve(run / "export", "--engine", "dynamic")
    assert no_weights.returncode == 2 and "an export directory has no dygraph weights" in no_weights.stderr
    bad = serve(run, "--max-batch", "0")
    assert bad.returncode == 2 and "--max-batch must be at least 1" in bad.stderr


def test_parser_defaults_are_the_documented_ones():
    args = build_parser().parse_args(["runs/demo"])
    assert (args.host, args.port, args.engine, args.max_batch, args.max_wait_ms) == ("127.0.0.1", 8000, "auto", 32, 5.0)
    assert (args.max_texts, args.max_text_chars, args.max_body_bytes) == (256, 10_000, 1 << 20)
    limits = Limits()
    assert (limits.max_texts, limits.max_text_chars, limits.max_body_bytes) == (256, 10_000, 1 << 20)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Serving"):]
    for words in ("127.0.0.1", "256 texts", "10,000 characters", "1 MiB", "32 texts", "5 ms"):
        assert words in section, words

