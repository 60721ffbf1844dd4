"""The README's commands must work as written: checked against the Makefile and the CLIs."""
import importlib
import re
import shlex

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S)
COMMANDS = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines()]


def test_top_of_readme_shows_exactly_the_two_newcomer_commands():
    first = [c for c in BLOCKS[0].splitlines() if c.strip()]
    assert [c.split("#")[0].strip() for c in first] == ["make demo", "make test"]


def test_ci_runs_only_readme_commands_and_both_profiles():
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip().startswith("make ")]
    assert ci == ["make test", "make test PROFILE=gpu PYTHON=/usr/bin/python3.11 VENV=.venv-gpu"]
    assert all(command in COMMANDS for command in ci)


@pytest.mark.parametrize("command", sorted({c for c in COMMANDS if c.startswith("make ")}))
def test_make_targets_exist(command):
    target = shlex.split(command)[1]
    assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.M), f"README runs `{command}`; no such target"


@pytest.mark.parametrize("command", sorted({c for c in COMMANDS if c.startswith("python -m paddle_ner")}))
def test_cli_commands_parse(command):
    words = shlex.split(command)
    module = importlib.import_module(words[2] if not words[2].endswith(".data") else "paddle_ner.data.__main__")
    module.build_parser().parse_args(words[3:])  # exits (SystemExit) on an unknown flag


def test_documented_train_flags_exist():
    paragraph = README[README.index("Flags: `--dataset`"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    documented = set(re.findall(r"`(--[a-z-]+)", paragraph))
    from paddle_ner.train import build_parser

    known = {opt for action in build_parser()._actions for opt in action.option_strings}
    assert documented and documented <= known, documented - known


def test_the_paper_table_matches_the_brief():
    rows = {"Baseline": "92.54 | 88.20 | 90.32", "BERT-base": "92.68 | 94.18 | 93.30",
            "ERNIE": "92.92 | 94.07 | 93.37", "ERNIE-tiny": "83.89 | 89.88 | 86.52",
            "RoBERTa": "93.64 | 94.93 | 94.17"}
    for name, values in rows.items():
        assert f"| {name} | {values} |" in README
