"""The page at / in a real browser: Debian's headless Chromium, driven by selenium through
chromedriver, against `python -m paddle_ner.serve` on 127.0.0.1. Skips where Chromium,
chromedriver or selenium are missing (CI installs them: .ci/run).

PADDLE_NER_SCREENSHOT=docs/serve.png also writes the screenshot there (the README's)."""
import os
import shutil

import pytest

from test_serve import KNOWN, Server, post, serve_run

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and os.access(p, os.X_OK)), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Chromium and chromedriver "
                                                                   "(Debian: apt-get install chromium chromium-driver)")
selenium = pytest.importorskip("selenium", reason="needs selenium (the dev extra)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# Two texts whose entities the test model knows, then one without any.
LINES = list(KNOWN) + ["今天天气很好。"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = serve_run(tmp_path_factory)
    server = Server(run, "--max-text-chars", "5000")
    server.run = run
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-default-apps", "--disable-extensions", "--window-size=1000,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    # the driver path is given, so selenium never runs its driver manager (which would download)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def tag(browser, lines=None, value=None):
    """Put ``lines`` (typed) or ``value`` (set at once) into the textarea, press the button,
    wait for the result (or an error)."""
    box = browser.find_element(By.ID, "input")
    box.clear()
    if lines is not None:
        box.send_keys("\n".join(lines))
    else:
        browser.execute_script("arguments[0].value = arguments[1];"
                               "arguments[0].dispatchEvent(new Event('input'));", box, value)
    browser.execute_script("document.getElementById('output').replaceChildren();")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#output .ner-view")
                                     or b.find_element(By.ID, "error").is_displayed())


def marks(browser):
    """(type, text, start, end) of each highlighted entity, read in one call."""
    return [tuple(m) for m in browser.execute_script(
        "return Array.from(document.querySelectorAll('#output mark.ner-ent'), m => [m.dataset.type, m.textContent,"
        " Number(m.dataset.start), Number(m.dataset.end)]);")]


def line_texts(browser):
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#output .ner-text'), t => t.textContent);")


def test_the_page_highlights_the_entities(server, browser, tmp_path):
    browser.get(server.url)
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "model").text)
    assert "bigru_crf" in browser.find_element(By.ID, "model").text
    tag(browser, lines=LINES)
    assert not browser.find_element(By.ID, "error").is_displayed()

    # every text is a line of its own, entities highlighted inline where the API puts them
    assert line_texts(browser) == LINES
    expected = [(kind, text[start:end], start, end) for text in KNOWN for kind, start, end in KNOWN[text]]
    assert marks(browser) == expected
    api = post(server.url, LINES)[1]["results"]
    assert marks(browser) == [(e["type"], e["text"], e["start"], e["end"]) for r in api for e in r["entities"]]

    # one colour per type, the same in the text, the legend and the table
    def colour(element):
        return element.value_of_css_property("background-color")

    legend = {k.get_attribute("data-type"): colour(k)
              for k in browser.find_elements(By.CSS_SELECTOR, "#output .ner-legend .ner-key")}
    assert list(legend) == ["LOC", "ORG", "PER"] and len(set(legend.values())) == 3
    for mark in browser.find_elements(By.CSS_SELECTOR, "#output mark.ner-ent"):
        assert colour(mark) == legend[mark.get_attribute("data-type")]
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in browser.find_elements(By.CSS_SELECTOR, "#output .ner-table tbody tr")]
    assert rows == [[str(i + 1), kind, str(start), str(end), text[start:end]]
                    for i, text in enumerate(LINES) for kind, start, end in KNOWN.get(text, [])]

    # the type on hover
    first = browser.find_element(By.CSS_SELECTOR, "#output mark.ner-ent")
    ActionChains(browser).move_to_element(first).perform()
    assert browser.execute_script("return getComputedStyle(arguments[0], '::after').content;", first) == '"PER"'
    assert first.get_attribute("title").startswith("PER")

    path = tmp_path / "serve.png"
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    target = os.environ.get("PADDLE_NER_SCREENSHOT")
    if target:
        shutil.copyfile(path, target)


def test_many_lines_and_thousands_of_characters(server, browser):
    browser.get(server.url)
    lines = [f"{i}：" + text for i in range(120) for text in LINES[:1]]  # 120 lines, ~2,400 characters
    long_line = "".join(KNOWN) * 80  # one text of ~3,200 characters: through overlapping windows
    tag(browser, value="\n".join(lines + [long_line]) + "\n")
    assert line_texts(browser) == lines + [long_line]
    found = marks(browser)
    api = post(server.url, lines + [long_line])[1]["results"]
    assert found == [(e["type"], e["text"], e["start"], e["end"]) for r in api for e in r["entities"]]
    assert len([m for m in found if m[1] == "周文博"]) >= 120
    summary = browser.find_element(By.CSS_SELECTOR, "#output .ner-summary").text
    assert summary.startswith(f"{len(lines) + 1} texts · {sum(map(len, lines)) + len(long_line)} characters")


def test_errors_are_shown_not_thrown(server, browser):
    browser.get(server.url)
    tag(browser, value="\n")
    assert "Type or paste some text" in browser.find_element(By.ID, "error").text
    tag(browser, value="长" * 5001)  # the server was started with --max-text-chars 5000
    assert "the limit is 5000" in browser.find_element(By.ID, "error").text
    tag(browser, lines=LINES[:1])  # and the page still works
    assert not browser.find_element(By.ID, "error").is_displayed()
    assert marks(browser)[0][:2] == ("PER", "周文博")


def test_predict_html_is_the_same_rendering(server, browser, tmp_path, capsys):
    """`predict --format html` writes, without JavaScript, the very markup the page builds."""
    from paddle_ner import predict as predict_cli

    lines = LINES + ["", "<b>&amp;\"'</b> 王芳说", "\U0001f469\u200d\U0001f4bb\U00020000" + LINES[0]]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()
    assert predict_cli.main([str(server.run), "--input", str(source), "--engine", "inference", "--format", "html"]) == 0
    page = tmp_path / "out.html"
    page.write_text(capsys.readouterr().out, encoding="utf-8")

    browser.get(server.url)
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "model").text)
    tag(browser, value="\n".join(lines))
    # offsets count code points (Python's), not UTF-16 units: the emoji and U+20000 are 4 characters
    assert marks(browser)[-2:] == [("PER", "周文博", 4, 7), ("LOC", "南昌", 14, 16)]
    served = browser.find_element(By.CSS_SELECTOR, "#output .ner-view").get_attribute("outerHTML")
    browser.get(page.as_uri())
    static = browser.find_element(By.CSS_SELECTOR, ".ner-view").get_attribute("outerHTML")
    assert static == served
    assert browser.find_elements(By.TAG_NAME, "script") == []


def test_lines_split_as_predict_reads_them(server, browser):
    """The page's lines are `predict --input`'s: Python's str.splitlines."""
    browser.get(server.url)
    for value in ["a\nb", "a\r\nb\rc", "a\n", "a\n\nb\n\n", "\n", "", "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i",
                  "a\tb\x00c"]:
        assert browser.execute_script("return NER.splitLines(arguments[0]);", value) == value.splitlines(), value
