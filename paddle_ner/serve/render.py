"""The entity view as static HTML, for ``predict --format html`` and notebooks.

:func:`render_view` writes the markup that ``static/ner.js`` builds in the page (the browser
test loads both and compares them), styled by the same ``static/ner.css``. :func:`render_page`
wraps it in a standalone document: styles inline, no script, no external asset, so it opens
offline, from a report or an e-mail. In a notebook, ``IPython.display.HTML(render_fragment(results,
labels))`` shows the same view.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from paddle_ner.serve.service import entity_types

STATIC = Path(__file__).resolve().parent / "static"
COLOURS = 10  # .ner-c0 ... .ner-c9 in ner.css


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _text(value) -> str:
    return escape(str(value), quote=False)


def _attr(value) -> str:
    return escape(str(value), quote=True)


def render_view(results: Sequence[dict], types: Iterable[str] = ()) -> str:
    """``<div class="ner-view">``: summary, legend, the texts with entities highlighted inline,
    and the table of entities. ``results`` are ``Predictor``'s (one per text); ``types`` the
    model's entity types in label order (:func:`~paddle_ner.serve.service.entity_types`)."""
    types: List[str] = list(types)
    for result in results:
        for e in result["entities"]:
            if e["type"] not in types:
                types.append(e["type"])

    def colour(kind: str) -> str:
        return f"ner-c{types.index(kind) % COLOURS}"

    counts = {kind: 0 for kind in types}
    for result in results:
        for e in result["entities"]:
            counts[e["type"]] += 1
    found = sum(counts.values())
    chars = sum(len(r["text"]) for r in results)

    summary = " · ".join((_count(len(results), "text", "texts"), _count(chars, "character", "characters"),
                          _count(found, "entity", "entities")))
    out = ['<div class="ner-view">', f'<p class="ner-summary">{summary}</p>', '<ul class="ner-legend">']
    for kind in types:
        out.append(f'<li class="ner-key {colour(kind)}" data-type="{_attr(kind)}">{_text(kind)} '
                   f'<span class="ner-count">{counts[kind]}</span></li>')
    out.append('</ul><div class="ner-texts">')
    for i, result in enumerate(results):
        text = result["text"]
        out.append(f'<div class="ner-text" data-index="{i}">')
        at = 0
        for e in result["entities"]:
            out.append(_text(text[at:e["start"]]))
            out.append(f'<mark class="ner-ent {colour(e["type"])}" data-type="{_attr(e["type"])}" '
                       f'data-start="{e["start"]}" data-end="{e["end"]}" '
                       f'title="{_attr(e["type"])} · characters {e["start"]}–{e["end"]}">'
                       f'{_text(text[e["start"]:e["end"]])}</mark>')
            at = e["end"]
        out.append(_text(text[at:]) + "</div>")
    out.append("</div>")
    if not found:
        out.append('<p class="ner-none">No entities found.</p></div>')
        return "".join(out)
    out.append('<table class="ner-table"><thead><tr>' + "".join(f"<th>{h}</th>" for h in
                                                                ("line", "type", "start", "end", "entity")) +
               "</tr></thead><tbody>")
    for i, result in enumerate(results):
        for e in result["entities"]:
            out.append(f'<tr><td class="ner-num">{i + 1}</td><td><span class="ner-key {colour(e["type"])}">'
                       f'{_text(e["type"])}</span></td><td class="ner-num">{e["start"]}</td>'
                       f'<td class="ner-num">{e["end"]}</td><td>{_text(e["text"])}</td></tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def stylesheet(page: bool = True) -> str:
    """The view's CSS (``ner.css``), with the page's (``page.css``) before it when ``page``."""
    names = ("page.css", "ner.css") if page else ("ner.css",)
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in names)


def render_fragment(results: Sequence[dict], labels: Sequence[str] = ()) -> str:
    """The view with its stylesheet, for embedding (a notebook cell's ``HTML``)."""
    return f"<style>{stylesheet(page=False)}</style>{render_view(results, entity_types(labels))}"


def render_page(results: Sequence[dict], labels: Sequence[str] = (), title: str = "paddle-ner",
                subtitle: Optional[str] = None) -> str:
    """A standalone HTML document showing ``results`` (no script, no external asset)."""
    sub = f'<span class="model">{_text(subtitle)}</span>' if subtitle else ""
    return ("<!doctype html>\n"
            '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_text(title)}</title>\n<style>\n{stylesheet()}</style>\n</head>\n<body>\n"
            f"<header><h1>{_text(title)}</h1>{sub}</header>\n<main>\n"
            f"{render_view(results, entity_types(labels))}\n</main>\n</body>\n</html>\n")
