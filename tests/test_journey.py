"""The README's offline GPU journey, run verbatim: stand-ins in PRETRAINED_DIR, then `make
reproduce` on the CPU. It runs in the venv this suite runs in (CI: both profiles), and proves
that after an install the reproduce target runs the package, not the installer."""
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, make_env

VENV = Path(sys.prefix)
README = (REPO / "README.md").read_text(encoding="utf-8")


def journey_commands():
    """The code block of the README that runs the journey without GPU or downloads."""
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S):
        if "make reproduce" in block and "PRETRAINED_DIR=standins" in block:
            return [shlex.split(line) for line in block.strip().splitlines()]
    raise AssertionError("the README has no offline journey block")


@pytest.mark.skipif(not (VENV / ".paddle-ner-profile").is_file(),
                    reason="not running in a venv made by `make install`")
def test_readme_offline_reproduce_journey(tmp_path):
    env = make_env()
    profile = (VENV / ".paddle-ner-profile").read_text().split()[0]
    standins, make_out = None, None
    for words in journey_commands():
        # The README's relative folders go to tmp_path; everything else is verbatim.
        words = [str(tmp_path / w) if w == "standins" else w.replace("=standins", f"={tmp_path / 'standins'}")
                 for w in words]
        if words[0] == "python":
            done = subprocess.run([sys.executable, *words[1:]], cwd=REPO, env=env, capture_output=True, text=True)
            standins = tmp_path / "standins"
        else:
            assert words[:2] == ["make", "reproduce"], words
            done = subprocess.run([*words, f"VENV={VENV}", f"RUNS={tmp_path / 'runs'}",
                                   f"RESULTS={tmp_path / 'results'}"], cwd=REPO, env=env, capture_output=True, text=True)
            make_out = done.stdout
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert standins is not None and sorted(p.name for p in standins.iterdir()) == ["bert", "ernie", "ernie_tiny",
                                                                                 "roberta"]
    first = make_out.splitlines()[0]
    assert first.startswith(f"make: {VENV} ({profile} profile): paddlepaddle"), first
    assert "install:" not in make_out and "tools/install.sh" not in make_out
    table = json.loads((tmp_path / "results" / "table1.json").read_text())
    assert sorted((r["model"], r["recipe"]) for r in table["rows"]) == [
        (m, "paper") for m in ("bert", "bigru_crf", "ernie", "ernie_tiny", "roberta")]
    for row in table["rows"]:
        key = row["model"]
        assert row["device"] == ["cpu"], key
        run = json.loads((tmp_path / "runs" / "sample" / "paper" / f"{key}-seed1" / "run.json").read_text())
        if key != "bigru_crf":  # each system trained from its own stand-in, not a download
            assert f"model.pretrained={tmp_path / 'standins' / key}" in run["argv"]
    assert "| BERT-base |" in (tmp_path / "results" / "table1.md").read_text()
