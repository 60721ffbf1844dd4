/* The entity view: NER.render(results, types) -> a <div class="ner-view"> element.
   `results` are POST /v1/ner's (one per text: text, tags, entities with code-point offsets);
   `types` the model's entity types, in label order, so each type keeps its colour whatever the
   texts hold. render.py writes the same markup in Python (predict --format html); the browser
   test checks that the two agree. Text is only ever set as text, never parsed as HTML. */
(function (root) {
  "use strict";

  // The line breaks of Python's str.splitlines(), which `predict --input` reads lines with.
  var BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

  function splitLines(value) {
    if (value === "") return [];
    var lines = value.split(BREAK);
    if (lines[lines.length - 1] === "") lines.pop();  // a final line break ends the last line
    return lines;
  }

  function entityTypes(labels) {
    var types = [];
    labels.forEach(function (label) {
      var dash = label.indexOf("-");
      var kind = dash < 0 ? "" : label.slice(dash + 1);
      if (kind && types.indexOf(kind) < 0) types.push(kind);
    });
    return types;
  }

  function count(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(results, types) {
    types = (types || []).slice();
    results.forEach(function (r) {
      r.entities.forEach(function (e) { if (types.indexOf(e.type) < 0) types.push(e.type); });
    });
    function colour(type) { return "ner-c" + (types.indexOf(type) % 10); }
    var counts = {}, chars = 0, found = 0;
    types.forEach(function (t) { counts[t] = 0; });
    results.forEach(function (r) {
      chars += Array.from(r.text).length;
      r.entities.forEach(function (e) { counts[e.type] += 1; found += 1; });
    });

    var view = el("div", "ner-view");
    view.appendChild(el("p", "ner-summary", count(results.length, "text", "texts") + " · " +
      count(chars, "character", "characters") + " · " + count(found, "entity", "entities")));

    var legend = el("ul", "ner-legend");
    types.forEach(function (t) {
      var key = el("li", "ner-key " + colour(t));
      key.setAttribute("data-type", t);
      key.appendChild(document.createTextNode(t + " "));
      key.appendChild(el("span", "ner-count", String(counts[t])));
      legend.appendChild(key);
    });
    view.appendChild(legend);

    var texts = el("div", "ner-texts");
    results.forEach(function (r, i) {
      var line = el("div", "ner-text");
      line.setAttribute("data-index", String(i));
      var characters = Array.from(r.text);  // offsets count code points, as in Python
      var at = 0;
      r.entities.forEach(function (e) {
        if (e.start > at) line.appendChild(document.createTextNode(characters.slice(at, e.start).join("")));
        var mark = el("mark", "ner-ent " + colour(e.type), characters.slice(e.start, e.end).join(""));
        mark.setAttribute("data-type", e.type);
        mark.setAttribute("data-start", String(e.start));
        mark.setAttribute("data-end", String(e.end));
        mark.setAttribute("title", e.type + " · characters " + e.start + "–" + e.end);
        line.appendChild(mark);
        at = e.end;
      });
      if (at < characters.length) line.appendChild(document.createTextNode(characters.slice(at).join("")));
      texts.appendChild(line);
    });
    view.appendChild(texts);

    if (!found) {
      view.appendChild(el("p", "ner-none", "No entities found."));
      return view;
    }
    var table = el("table", "ner-table");
    var head = el("tr");
    ["line", "type", "start", "end", "entity"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    results.forEach(function (r, i) {
      r.entities.forEach(function (e) {
        var row = el("tr");
        row.appendChild(el("td", "ner-num", String(i + 1)));
        row.appendChild(el("td")).appendChild(el("span", "ner-key " + colour(e.type), e.type));
        row.appendChild(el("td", "ner-num", String(e.start)));
        row.appendChild(el("td", "ner-num", String(e.end)));
        row.appendChild(el("td", null, e.text));
        body.appendChild(row);
      });
    });
    view.appendChild(table);
    return view;
  }

  root.NER = { render: render, entityTypes: entityTypes, splitLines: splitLines };
})(this);
