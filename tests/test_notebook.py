"""The AI Studio notebook is valid and its code cells run end to end in tiny mode (sample data,
shrunk random-weight encoders, CPU), in a real Jupyter kernel."""
import json
import os

import pytest

from conftest import REPO

NOTEBOOK = REPO / "aistudio" / "reproduce.ipynb"


def test_notebook_is_valid_json_and_nbformat():
    import nbformat

    raw = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert raw["nbformat"] == 4
    nbformat.validate(nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4))


def test_notebook_has_a_cell_per_system():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    for key in ("bigru_crf", "bert", "ernie", "ernie_tiny", "roberta"):
        assert any(f'reproduce.main(["--models", "{key}", *ARGS])' in c for c in code), key


def test_notebook_runs_end_to_end_in_tiny_mode(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PADDLE_NER_TINY", "1")
    monkeypatch.setenv("PADDLE_NER_REPO", str(REPO))
    monkeypatch.setenv("PADDLE_NER_WORK", str(tmp_path))
    notebook = nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    table = json.loads((tmp_path / "results" / "table1.json").read_text())
    assert sorted(r["model"] for r in table["rows"]) == sorted(["bigru_crf", "bert", "ernie", "ernie_tiny", "roberta"])
    assert (tmp_path / "results" / "table1.png").stat().st_size > 0
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("text/markdown" in o.get("data", {}) for o in outputs)
    highlighted = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(highlighted) == 5 and all('class="ner-view"' in h for h in highlighted)
