"""The README and the docs/ pages: their commands must work as written (checked against the
Makefile and the CLIs), their links must resolve, and the README's layout must name every module
and top-level folder."""
import importlib
import re
import shlex
import subprocess

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = {path: path.read_text(encoding="utf-8") for path in [REPO / "README.md", *DOCS]}
FENCED = re.compile(r"```[a-z]*\n(.*?)```", flags=re.S)
BLOCKS = FENCED.findall(README)


def commands(blocks):
    """One command per line of each code block; a line ending in `\\` continues on the next."""
    return [line.split("  #")[0].strip() for block in blocks
            for line in re.sub(r"\\\n\s*", " ", block).splitlines()]


COMMANDS = commands(BLOCKS)  # the README's own: CI runs these
ALL_COMMANDS = commands(block for text in PAGES.values() for block in FENCED.findall(text))


def test_top_of_readme_shows_exactly_the_two_newcomer_commands():
    first = [c for c in BLOCKS[0].splitlines() if c.strip()]
    assert [c.split("#")[0].strip() for c in first] == ["make demo", "make test"]


def test_ci_runs_only_readme_commands_and_both_profiles():
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip().startswith("make ")]
    assert ci == ["make test", "make test PROFILE=gpu PYTHON=/usr/bin/python3.11 VENV=.venv-gpu"]
    assert all(command in COMMANDS for command in ci)


@pytest.mark.parametrize("command", sorted({c for c in ALL_COMMANDS if c.startswith("make ")}))
def test_make_targets_exist(command):
    target = shlex.split(command)[1]
    assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.M), f"the docs run `{command}`; no such target"


@pytest.mark.parametrize("command", sorted({c for c in ALL_COMMANDS if c.startswith("python -m paddle_ner")}))
def test_cli_commands_parse(command):
    words = shlex.split(command)
    module = importlib.import_module(words[2] if not words[2].endswith(".data") else "paddle_ner.data.__main__")
    module.build_parser().parse_args(words[3:])  # exits (SystemExit) on an unknown flag


def test_documented_train_flags_exist():
    holders = [text for text in PAGES.values() if "Flags: `--dataset`" in text]
    assert len(holders) == 1, "exactly one page documents the training flags"
    paragraph = holders[0][holders[0].index("Flags: `--dataset`"):]
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


# --- the README is a front door; the detail is in docs/ ---------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(text):
    """Link targets outside code blocks and code spans."""
    text = re.sub(r"`[^`\n]*`", "", FENCED.sub("", text))
    return LINK.findall(text)


def anchors(text):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats."""
    seen, out = {}, set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCED.sub("", text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return out


def test_readme_is_short_and_links_every_docs_page():
    assert DOCS, "docs/*.md pages are missing"
    assert len(README.splitlines()) <= 350
    targets = {target.split("#")[0] for target in links(README)}
    assert {f"docs/{page.name}" for page in DOCS} <= targets
    for page in DOCS:  # each page opens with a summary that links back to the README
        first_paragraph = PAGES[page].split("\n\n")[1]
        assert "](../README.md)" in first_paragraph, page.name


@pytest.mark.parametrize("page", sorted(PAGES, key=str), ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_point_to_existing_files_and_anchors(page):
    broken = []
    for target in links(PAGES[page]):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", sorted(PAGES, key=str), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_line_over_300_characters_outside_tables(page):
    long = [n for n, line in enumerate(PAGES[page].splitlines(), 1) if len(line) > 300 and not line.startswith("|")]
    assert not long, f"{page.name}: lines {long}"


# --- the README's layout names every module and every top-level folder ------------------------

def layout_section():
    start = README.index("\n## Project layout")
    end = README.find("\n## ", start + 1)
    return README[start:] if end == -1 else README[start:end]


def test_layout_names_every_module_of_the_package():
    """Every module but `__init__.py`/`__main__.py`, by its path from the repository root, in backticks."""
    layout = layout_section()
    named = set(re.findall(r"`(paddle_ner/[\w/]+\.py)`", layout))
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "paddle_ner").rglob("*.py")
               if path.name not in ("__init__.py", "__main__.py")}
    assert not modules - named, f"Project layout does not name {sorted(modules - named)}"
    assert not named - modules, f"Project layout names modules that do not exist: {sorted(named - modules)}"


def top_level_folders():
    """The top-level folders git tracks; without git (an exported tree), those on disk, less
    hidden ones but .ci, virtual environments, run directories and build/cache folders."""
    try:
        files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        files = ""
    folders = {line.split("/", 1)[0] for line in files.splitlines() if "/" in line}
    if folders:
        return folders
    return {path.name for path in REPO.iterdir()
            if path.is_dir() and (path.name == ".ci" or not path.name.startswith("."))
            and not (path / "pyvenv.cfg").exists() and not path.name.endswith(".egg-info")
            and path.name not in ("runs", "build", "dist", "__pycache__")}


def test_layout_names_every_top_level_folder():
    layout = layout_section()
    folders = top_level_folders()
    assert {"paddle_ner", "tests", ".ci"} <= folders
    missing = sorted(name for name in folders if f"`{name}/`" not in layout)
    assert not missing, f"Project layout does not name {missing}"
