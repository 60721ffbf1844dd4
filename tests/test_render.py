"""The entity view as static HTML (paddle_ner/serve/render.py) and `predict --format html`.
That the page's JavaScript builds the same markup is checked in a browser
(tests/test_serve_browser.py::test_predict_html_is_the_same_rendering)."""
import re
from html.parser import HTMLParser

from paddle_ner.serve.render import render_fragment, render_page, render_view
from paddle_ner.serve.service import entity_types

LABELS = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def result(text, *spans):
    tags = ["O"] * len(text)
    for kind, start, end in spans:
        tags[start:end] = ["B-" + kind] + ["I-" + kind] * (end - start - 1)
    return {"text": text, "tags": tags,
            "entities": [{"type": k, "start": s, "end": e, "text": text[s:e]} for k, s, e in spans]}


class Marks(HTMLParser):
    """(class, data-type, data-start, data-end, text) of each <mark>, and the texts of each line."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.marks, self.lines, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "mark":
            self.marks.append([attrs["class"], attrs["data-type"], int(attrs["data-start"]), int(attrs["data-end"]),
                               ""])
        if "ner-text" in (attrs.get("class") or "").split():
            self.lines.append("")
        if tag not in ("meta", "link", "br"):  # void elements have no end tag
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag

    def handle_data(self, data):
        # a line's text sits directly in its <div class="ner-text"> or in its <mark>s
        if self.stack and self.stack[-1] == "mark":
            self.marks[-1][-1] += data
        if self.stack and self.stack[-1] in ("div", "mark") and self.lines and "table" not in self.stack:
            self.lines[-1] += data


def parse(html):
    parser = Marks()
    parser.feed(html)
    return parser


def test_entity_types_follow_the_label_order():
    assert entity_types(LABELS) == ["LOC", "ORG", "PER"]
    assert entity_types(["O", "B-GPE.NAM", "I-GPE.NAM", "B-PER.NOM"]) == ["GPE.NAM", "PER.NOM"]
    assert entity_types(["O"]) == []


def test_entities_are_highlighted_in_place_one_colour_per_type():
    results = [result("刘晓东表示，南京大学将继续加大投入。", ("PER", 0, 3), ("ORG", 6, 10)),
               result("王芳到厦门", ("PER", 0, 2), ("LOC", 3, 5)), result("")]
    page = parse(render_view(results, entity_types(LABELS)))
    assert page.lines == [r["text"] for r in results]  # every character, in order, nothing added
    assert [m[1:] for m in page.marks] == [["PER", 0, 3, "刘晓东"], ["ORG", 6, 10, "南京大学"],
                                           ["PER", 0, 2, "王芳"], ["LOC", 3, 5, "厦门"]]
    colours = {m[1]: m[0] for m in page.marks}
    assert colours == {"LOC": "ner-ent ner-c0", "ORG": "ner-ent ner-c1", "PER": "ner-ent ner-c2"}


def test_offsets_count_code_points_as_the_api_does():
    text = "\U0001f469\u200d\U0001f4bb在北京\U00020000遇见王芳"
    start, person = text.index("北京"), text.index("王芳")
    assert (start, person) == (4, 9)  # 3 code points before 在 (JavaScript would count 5 UTF-16 units)
    page = parse(render_view([result(text, ("LOC", start, start + 2), ("PER", person, person + 2))], ["LOC", "PER"]))
    assert [m[-1] for m in page.marks] == ["北京", "王芳"]
    assert page.lines == [text]


def test_text_is_escaped_never_markup():
    text = '<script>alert("x")</script> & 王芳'
    html = render_view([result(text, ("PER", len(text) - 2, len(text)))], [])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert parse(html).lines == [text]
    odd_type = render_view([result("ab", ('A"B<', 0, 2))], [])
    assert 'data-type="A&quot;B&lt;"' in odd_type and parse(odd_type).marks[0][1] == 'A"B<'


def test_legend_counts_table_and_no_entities():
    results = [result("王芳到厦门", ("PER", 0, 2), ("LOC", 3, 5)), result("王芳", ("PER", 0, 2))]
    html = render_view(results, entity_types(LABELS))
    assert '<p class="ner-summary">2 texts · 7 characters · 3 entities</p>' in html
    legend = re.findall(r'<li class="ner-key (ner-c\d)" data-type="(\w+)">\w+ <span class="ner-count">(\d+)</span>',
                        html)
    assert legend == [("ner-c0", "LOC", "1"), ("ner-c1", "ORG", "0"), ("ner-c2", "PER", "2")]
    rows = re.findall(r"<tr><td class=\"ner-num\">(\d+)</td><td><span class=\"ner-key ner-c\d\">(\w+)</span></td>"
                      r"<td class=\"ner-num\">(\d+)</td><td class=\"ner-num\">(\d+)</td><td>(\w+)</td></tr>", html)
    assert rows == [("1", "PER", "0", "2", "王芳"), ("1", "LOC", "3", "5", "厦门"), ("2", "PER", "0", "2", "王芳")]
    none = render_view([result("今天天气很好。")], entity_types(LABELS))
    assert "No entities found." in none and "<table" not in none
    assert '<p class="ner-summary">1 text · 7 characters · 0 entities</p>' in none


def test_types_beyond_the_palette_wrap_and_unknown_types_are_added():
    types = [f"T{i}" for i in range(12)]
    html = render_view([result("abc", ("T11", 0, 1), ("NEW", 2, 3))], types)
    assert parse(html).marks[0][0] == "ner-ent ner-c1"  # 11 mod 10
    assert parse(html).marks[1][0] == "ner-ent ner-c2"  # NEW comes 13th: 12 mod 10


def test_standalone_page_has_no_script_and_no_external_asset():
    page = render_page([result("王芳", ("PER", 0, 2))], LABELS, subtitle="runs/demo <export>")
    assert page.startswith("<!doctype html>") and "<style>" in page and ".ner-c0" in page
    assert "<script" not in page and "http" not in page and "<link" not in page
    assert "runs/demo &lt;export&gt;" in page
    fragment = render_fragment([result("王芳", ("PER", 0, 2))], LABELS)
    assert fragment.startswith("<style>") and '<div class="ner-view">' in fragment and "<body" not in fragment


def test_predict_format_html_writes_a_page(tmp_path_factory, tmp_path, capsys):
    from test_serve import KNOWN, serve_run

    from paddle_ner import predict as predict_cli

    run = serve_run(tmp_path_factory)
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(KNOWN), encoding="utf-8")
    capsys.readouterr()
    assert predict_cli.main([str(run), "--input", str(source), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>")
    assert [m[1:] for m in parse(page).marks] == [[kind, start, end, text[start:end]]
                                                  for text, spans in KNOWN.items() for kind, start, end in spans]
