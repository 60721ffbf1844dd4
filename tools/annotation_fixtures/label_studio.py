"""Regenerate tests/fixtures/annotation/label_studio_export.json from a real Label Studio.

    python3 -m venv /tmp/ls && /tmp/ls/bin/pip install label-studio==1.23.2
    .venv/bin/python tools/annotation_fixtures/label_studio.py --label-studio /tmp/ls/bin/label-studio

What it does, against the Label Studio it starts (127.0.0.1 only, its data and HOME in a
temporary directory, Sentry, analytics and the PyPI version check off; stopped at the end):

1. creates a project with a NER labelling config (``<Labels name="label">`` on ``<Text name="text">``);
2. imports pre-annotations written by ``paddle_ner.data.write_label_studio_predictions`` (our
   writer, as ``predict`` will use it), with per-span scores, and a finished annotation written
   by ``paddle_ner.data.write_label_studio`` (``convert --to label_studio``);
3. through the API, as an annotator would: accepts one prediction as it is; annotates a task twice
   and then edits the first annotation, so that the most recent one by ``updated_at`` is not the
   one with the largest id; cancels (skips) a task, then annotates it; annotates a text with
   spaces, a TAB and a newline; leaves one task with its prediction only;
4. exports the project in Label Studio's JSON format (annotated tasks only, its default) and
   saves the export unchanged, with ``label_studio_export.meta.json`` (version, config, steps).

``tests/test_span_formats.py`` reads the export back with our reader.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from paddle_ner.data import write_label_studio, write_label_studio_predictions  # noqa: E402

OUT_DIR = REPO / "tests" / "fixtures" / "annotation"
TOKEN = "paddlenerfixturetoken0123456789abcdef"
MODEL_VERSION = "paddle-ner-fixture"
LABEL_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="PER"/>
    <Label value="LOC"/>
    <Label value="ORG"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""

# Predict records (paddle_ner.predict's output, with scores), in import order.
RECORDS = [
    {"text": "张三在北京工作。", "entities": [
        {"type": "PER", "start": 0, "end": 2, "text": "张三", "score": 0.97},
        {"type": "LOC", "start": 3, "end": 5, "text": "北京", "score": 0.91}]},
    {"text": "李四去了上海浦东。", "entities": [
        {"type": "PER", "start": 0, "end": 2, "text": "李四", "score": 0.88}]},
    {"text": "中山大学的王芳说好。", "entities": []},
    {"text": "李华 和\t王芳\n去了 南京。", "entities": [
        {"type": "PER", "start": 0, "end": 2, "text": "李华", "score": 0.8}]},
    {"text": "没有人标注这一句。", "entities": []},
]
# Records imported as finished annotations, written by paddle_ner.data.write_label_studio.
ANNOTATED = [
    {"text": "王五在广州。", "entities": [{"type": "PER", "start": 0, "end": 2},
                                       {"type": "LOC", "start": 3, "end": 5}]},
]


def span(text: str, label: str, start: int, end: int, ident: str) -> dict:
    return {"id": ident, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


class Client:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, raw: bool = False):
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = response.read()
        except urllib.error.HTTPError as err:
            raise SystemExit(f"{method} {path}: HTTP {err.code}: {err.read()[:500]!r}") from None
        return payload if raw else json.loads(payload or b"null")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 600.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"Label Studio exited with {proc.returncode}; its log: {log}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    raise SystemExit(f"Label Studio did not answer /health within {timeout:.0f} s; its log: {log}")


def run(client: Client) -> dict:
    version = client.call("GET", "/api/version")
    project = client.call("POST", "/api/projects/", {"title": "paddle-ner fixture", "label_config": LABEL_CONFIG})
    pid = project["id"]
    buffer = io.StringIO()
    write_label_studio_predictions(RECORDS, buffer, model_version=MODEL_VERSION)
    imported = client.call("POST", f"/api/projects/{pid}/import", json.loads(buffer.getvalue()))
    buffer = io.StringIO()
    write_label_studio(ANNOTATED, buffer)
    imported_annotations = client.call("POST", f"/api/projects/{pid}/import", json.loads(buffer.getvalue()))
    listed = client.call("GET", f"/api/projects/{pid}/tasks/?page_size=100")
    tasks = listed if isinstance(listed, list) else listed.get("tasks", listed.get("results"))
    by_text = {task["data"]["text"]: task for task in tasks}
    t = [by_text[r["text"]] for r in RECORDS]
    texts = [r["text"] for r in RECORDS]

    def annotate(task, result, **extra):
        return client.call("POST", f"/api/tasks/{task['id']}/annotations/", {"result": result, **extra})

    # 1. the prediction accepted as it is (its result, without the scores)
    prediction = t[0]["predictions"][0]["result"] if t[0].get("predictions") else None
    accepted = [{k: v for k, v in r.items() if k != "score"} for r in (prediction or [])]
    annotate(t[0], accepted)
    # 2. annotated twice, then the first annotation edited: most recent by updated_at, smaller id
    first = annotate(t[1], [span(texts[1], "PER", 0, 2, "a1")])
    time.sleep(1.1)
    annotate(t[1], [span(texts[1], "PER", 0, 2, "b1"), span(texts[1], "LOC", 4, 6, "b2")])
    time.sleep(1.1)
    client.call("PATCH", f"/api/annotations/{first['id']}/",
                {"result": [span(texts[1], "PER", 0, 2, "a1"), span(texts[1], "LOC", 4, 8, "a2")]})
    # 3. cancelled (skipped), then annotated
    annotate(t[2], [], was_cancelled=True)
    time.sleep(1.1)
    annotate(t[2], [span(texts[2], "ORG", 0, 4, "c1"), span(texts[2], "PER", 5, 7, "c2")])
    # 4. whitespace inside the text and next to entities
    annotate(t[3], [span(texts[3], "PER", 0, 2, "d1"), span(texts[3], "PER", 5, 7, "d2"),
                    span(texts[3], "LOC", 11, 13, "d3")])
    # 5. t[4] keeps its prediction only: not in the export (annotated tasks only)
    export = client.call("GET", f"/api/projects/{pid}/export?exportType=JSON", raw=True)
    return {"version": version, "imported": [imported, imported_annotations], "export": export}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label-studio", default="label-studio", help="the label-studio executable")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="directory for the export and its meta file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (data, log)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="ls-fixture-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, HOME=str(tmp / "home"), LABEL_STUDIO_BASE_DATA_DIR=str(tmp / "data"),
               SENTRY_DSN="", FRONTEND_SENTRY_DSN="", LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false",
               FEATURE_FLAGS_OFFLINE="true", LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
               LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true", LOG_LEVEL="WARNING",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    log = tmp / "label-studio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [args.label_studio, "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(tmp / "data"), "--username", "fixture@example.com", "--password", "fixture-pass",
             "--user-token", TOKEN, "--enable-legacy-api-token"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(base, proc, log)
        result = run(Client(base))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group, started above
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "label_studio_export.json").write_bytes(result["export"])
    meta = {
        "generated_by": "tools/annotation_fixtures/label_studio.py",
        "label_studio_version": result["version"].get("release") or result["version"],
        "export": "GET /api/projects/{id}/export?exportType=JSON (annotated tasks only)",
        "label_config": LABEL_CONFIG,
        "imported": ["write_label_studio_predictions(RECORDS, model_version=%r)" % MODEL_VERSION,
                     "write_label_studio(ANNOTATED)"],
        "import_responses": result["imported"],
        "steps": [
            "task 1: its prediction accepted as the annotation",
            "task 2: annotation A, then annotation B, then A edited (A: most recent updated_at, smaller id)",
            "task 3: a cancelled annotation, then an annotation",
            "task 4: a text with spaces, a TAB and a newline, annotated",
            "task 5: prediction only (not exported)",
            "task 6: imported with its annotation (write_label_studio)",
        ],
    }
    (args.out / "label_studio_export.meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                                                             encoding="utf-8")
    print(f"wrote {args.out / 'label_studio_export.json'} (Label Studio {meta['label_studio_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
