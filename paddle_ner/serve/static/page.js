/* The page at /: one text per line -> POST v1/ner -> NER.render. Relative URLs, so the page also
   works behind a proxy that serves it under a prefix. */
(function () {
  "use strict";
  var input = document.getElementById("input");
  var button = document.getElementById("run");
  var output = document.getElementById("output");
  var error = document.getElementById("error");
  var status = document.getElementById("status");
  var sizes = document.getElementById("sizes");
  var model = document.getElementById("model");
  var types = [];

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function showSizes() {
    var lines = NER.splitLines(input.value);
    var chars = lines.reduce(function (n, line) { return n + Array.from(line).length; }, 0);
    sizes.textContent = lines.length + (lines.length === 1 ? " line, " : " lines, ") + chars +
      (chars === 1 ? " character" : " characters");
  }

  fetch("v1/model").then(function (response) {
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }).then(function (info) {
    types = info.types;
    var run = info.run ? ", trained on " + info.run.dataset + " (" + info.run.recipe + " recipe)" : "";
    model.textContent = info.model + run + ", " + info.engine + " engine";
  }).catch(function (err) {
    showError("Could not read the model's description (v1/model): " + err.message);
  });

  function tag() {
    var texts = NER.splitLines(input.value);
    if (!texts.some(function (text) { return text !== ""; })) {
      showError("Type or paste some text first: one text per line.");
      return;
    }
    showError("");
    button.disabled = true;
    status.textContent = "Tagging…";
    var started = performance.now();
    fetch("v1/ner", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts: texts })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          throw new Error(body.error ? body.error.message : "the server answered HTTP " + response.status);
        }
        return body;
      });
    }).then(function (body) {
      output.replaceChildren(NER.render(body.results, types));
      status.textContent = "Tagged in " + Math.round(performance.now() - started) + " ms.";
    }).catch(function (err) {
      status.textContent = "";
      showError(err.message);
    }).then(function () {
      button.disabled = false;
    });
  }

  button.addEventListener("click", tag);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) tag();
  });
  input.addEventListener("input", showSizes);
  showSizes();
})();
