"""The HTML report in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by selenium. Skipped, with the command that installs them, where they are missing.

Most tests load a report built from tests/data/report_rows.jsonl (16 rows of a real run on
data/sample) whose texts are read again from data/sample; test_real_pipeline_report loads the
report of the session's pipeline run on data/sample (conftest.sample_run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re

import pytest

from conftest import REPO, SAMPLE

_spec = importlib.util.spec_from_file_location("_report_screenshot", REPO / "scripts" / "report_screenshot.py")
shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shot)


def _unavailable(why: str) -> None:
    """Skip (fail where CONTRADICT_REQUIRE_BROWSER=1, as .ci/run sets) without a browser."""
    if os.environ.get("CONTRADICT_REQUIRE_BROWSER") == "1":
        pytest.fail(why + " (CONTRADICT_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(why, allow_module_level=True)


try:
    import selenium  # noqa: F401
except ImportError:  # pragma: no cover
    _unavailable("selenium is not installed: pip install selenium")
if not shot.find_chromium():
    _unavailable(f"headless Chromium not found; install it with: {shot.INSTALL}")

from selenium.webdriver.common.by import By  # noqa: E402

from pipeline.run.report import write_report  # noqa: E402

ROWS = [json.loads(line) for line in (REPO / "tests" / "data" / "report_rows.jsonl").open(encoding="utf-8")]
SAMPLE_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SAMPLE.glob("*.txt")}
TITLE = "contradict report"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    drv = shot.chromium_driver(tmp_path_factory.mktemp("chromium-profile"), 1400, 900)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The fixture rows; the texts read again, lazily, from the manifest's inputs."""
    path = tmp_path_factory.mktemp("report") / "flagged.html"
    manifest = {"version": "test", "inputs": [str(SAMPLE)], "counts": {"documents": 4},
                "model": {"name_or_path": "models/nli-minilm-l6", "backend": "torch"},
                "decision": {"method": "threshold", "threshold": 0.225}}
    assert write_report(path, ROWS, manifest) == len(ROWS)
    return path


def _open(driver, path):
    driver.get(path.resolve().as_uri())
    driver.get_log("browser")  # start each test with an empty console
    assert driver.title == TITLE


def _severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _visible_rows(driver):
    return [r for r in driver.find_elements(By.CSS_SELECTOR, "#flags tbody tr") if r.is_displayed()]


def _words(s: str) -> str:
    return " ".join(s.split())


def _set(driver, element_id: str, value: str) -> None:
    driver.execute_script(
        "var e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event(e.tagName === 'SELECT' ? 'change' : 'input'));", element_id, value)


def test_rows_render(driver, report):
    _open(driver, report)
    rows = _visible_rows(driver)
    assert len(rows) == len(ROWS)
    first = rows[0].text
    assert ROWS[0]["claim_a"][:30] in first and ROWS[0]["claim_b"][:30] in first
    assert driver.find_element(By.ID, "count").text == f"showing {len(ROWS)} of {len(ROWS)} flags"
    docs = driver.find_elements(By.CSS_SELECTOR, "#docs section.doc")
    assert len(docs) == len({r[k] for r in ROWS for k in ("doc_a", "doc_b")}) == 4
    assert _severe(driver) == []


def test_filters_hide_rows(driver, report):
    _open(driver, report)
    _set(driver, "f-rel", "same_speaker")
    want = sum(r["relation"] == "same_speaker" for r in ROWS)
    assert 0 < want < len(ROWS)
    assert len(_visible_rows(driver)) == want
    assert driver.find_element(By.ID, "count").text == f"showing {want} of {len(ROWS)} flags"
    driver.find_element(By.ID, "reset").click()
    assert len(_visible_rows(driver)) == len(ROWS)

    _set(driver, "min", "0.8")
    assert len(_visible_rows(driver)) == sum(r["score"] >= 0.8 for r in ROWS) < len(ROWS)
    _set(driver, "min", "0")

    _set(driver, "f-reason", "numeric")
    assert len(_visible_rows(driver)) == sum("numeric" in r["reason"].split("+") for r in ROWS)
    _set(driver, "f-reason", "")

    _set(driver, "f-doc", "vaccine_rollout.txt")
    assert len(_visible_rows(driver)) == sum("vaccine_rollout.txt" in (r["doc_a"], r["doc_b"]) for r in ROWS)
    _set(driver, "f-doc", "")

    _set(driver, "f-speaker", "Khurram Dastgir")
    assert len(_visible_rows(driver)) == sum("Khurram Dastgir" in (r["speaker_a"], r["speaker_b"]) for r in ROWS)
    _set(driver, "f-speaker", "")

    box = driver.find_element(By.ID, "q")
    box.send_keys("suspended")
    shown = _visible_rows(driver)
    assert 0 < len(shown) < len(ROWS)
    assert all("suspended" in r.text.lower() for r in shown)
    assert _severe(driver) == []


def test_header_click_sorts(driver, report):
    _open(driver, report)
    score = driver.find_element(By.XPATH, "//th[text()='score']")

    def scores():
        return [float(r.get_attribute("data-score")) for r in _visible_rows(driver)]

    assert scores() == sorted(scores(), reverse=True)
    score.click()
    assert scores() == sorted(scores()) and score.get_attribute("aria-sort") == "ascending"
    score.click()
    assert scores() == sorted(scores(), reverse=True)
    driver.find_element(By.XPATH, "//th[text()='claim A']").click()
    claims = [r.find_elements(By.CSS_SELECTOR, "td.claim q")[0].text for r in _visible_rows(driver)]
    # every row, in the claims' alphabetical order (the report's localeCompare; these claims
    # sort the same with and without case)
    assert claims == sorted((r["claim_a"] for r in ROWS), key=str.lower)
    assert _severe(driver) == []


def _check_highlight(driver, row, texts):
    a, b = row.get_attribute("data-a"), row.get_attribute("data-b")
    on_a = driver.find_elements(By.CSS_SELECTOR, "#docs mark.on-a")
    on_b = driver.find_elements(By.CSS_SELECTOR, "#docs mark.on-b")
    assert on_a and on_b, "a click on a row highlights both claims"
    assert all(a in m.get_attribute("data-s").split() for m in on_a)
    assert all(b in m.get_attribute("data-s").split() for m in on_b)
    assert "sel" in row.get_attribute("class").split()
    i = int(row.get_attribute("data-i"))
    return on_a, on_b, i


def test_click_on_row_highlights_both_spans(driver, report):
    _open(driver, report)
    rows = _visible_rows(driver)
    for k in (2, 0, len(rows) - 1):
        row = rows[k]
        row.find_element(By.CSS_SELECTOR, "td.score").click()
        on_a, on_b, i = _check_highlight(driver, row, SAMPLE_TEXTS)
        r = ROWS[i]
        # the highlighted characters are the claim's span in the original text
        for marks, side in ((on_a, "a"), (on_b, "b")):
            got = _words("".join(m.get_attribute("textContent") for m in marks))
            want = _words(SAMPLE_TEXTS[r[f"doc_{side}"]][r[f"start_{side}"]:r[f"end_{side}"]])
            assert got == want
        # scrolled to: claim A is inside the documents pane's visible area
        inside = driver.execute_script(
            "var p = document.getElementById('docs').getBoundingClientRect(),"
            " m = arguments[0].getBoundingClientRect();"
            "return m.top >= p.top && m.bottom <= p.bottom;", on_a[0])
        assert inside is True
    assert len(driver.find_elements(By.CSS_SELECTOR, "#docs mark.on-a, #docs mark.on-b")) == len(on_a) + len(on_b)
    assert _severe(driver) == []


def test_click_on_claim_in_text_selects_its_row(driver, report):
    _open(driver, report)
    mark = driver.find_elements(By.CSS_SELECTOR, "#docs mark[data-s]")[5]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
    mark.click()
    sel = driver.find_elements(By.CSS_SELECTOR, "#flags tbody tr.sel")
    assert len(sel) == 1
    ids = mark.get_attribute("data-s").split()
    assert sel[0].get_attribute("data-a") in ids or sel[0].get_attribute("data-b") in ids
    assert _severe(driver) == []


def test_hostile_input_stays_text(driver, tmp_path):
    evil = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
    text = f"Intro. {evil} The talks are ongoing, she said. The talks were suspended, he said."
    s_a = text.index("The talks are ongoing")
    s_b = text.index("The talks were suspended")
    doc = '"><b id="inj">doc</b>'
    row = {"doc_a": doc, "doc_b": doc, "start_a": s_a, "end_a": s_a + 21, "start_b": s_b,
           "end_b": s_b + 24, "claim_a": evil, "claim_b": "The talks were suspended",
           "speaker_a": "</td><script>document.title='pwned'</script>", "speaker_b": "<i id=inj2>x</i>",
           "side_a": "<b id=inj3>", "side_b": "", "relation": "opposing_sides\"><b id=inj4>",
           "topic": "<u id=inj5>", "score": 0.9, "reason": "nli+<s id=inj6>", "stance_a": "asserts",
           "stance_b": "denies"}
    path = tmp_path / "evil.html"
    write_report(path, [row], {"inputs": ["<b id=inj7>"]}, texts={doc: text})
    _open(driver, path)
    for i in ("inj", "inj2", "inj3", "inj4", "inj5", "inj6", "inj7"):
        assert driver.find_elements(By.ID, i) == []
    assert driver.find_elements(By.TAG_NAME, "img") == []
    assert driver.title == TITLE
    assert evil in driver.find_element(By.ID, "docs").text  # shown as text
    _visible_rows(driver)[0].click()
    assert driver.title == TITLE
    assert _severe(driver) == []


def test_real_pipeline_report(driver, sample_run):
    """The report `contradict run data/sample --format ...html` wrote."""
    import csv

    out, _ = sample_run
    html_path = out.with_suffix(".html")
    csv_rows = list(csv.DictReader(out.open(encoding="utf-8")))
    _open(driver, html_path)
    rows = _visible_rows(driver)
    assert len(rows) == len(csv_rows) > 0
    assert [float(r.get_attribute("data-score")) for r in rows[:20]] == [float(r["score"]) for r in csv_rows[:20]]
    # every row links to marks in the text, on both sides
    missing = driver.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('#flags tbody tr'), function (r) {"
        " return !document.querySelector('#docs mark[data-s~=\"' + r.dataset.a + '\"]') ||"
        " !document.querySelector('#docs mark[data-s~=\"' + r.dataset.b + '\"]'); }).length;")
    assert missing == 0
    row = next(r for r in rows if "pakistan" in (r.get_attribute("data-da") or "").lower())
    row.find_element(By.CSS_SELECTOR, "td.num").click()
    _check_highlight(driver, row, SAMPLE_TEXTS)
    # the rarest relation among the rows: filtering by it must leave some rows, not all
    counts = {}
    for r in csv_rows:
        counts[r["relation"]] = counts.get(r["relation"], 0) + 1
    rel = min(counts, key=lambda k: (counts[k], k))
    _set(driver, "f-rel", rel)
    assert len(_visible_rows(driver)) == counts[rel] < len(csv_rows)
    assert _severe(driver) == []


def test_screenshot(tmp_path, report):
    png = tmp_path / "report.png"
    shot.screenshot(report, png, row=1, width=1200, height=800)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert re.search(rb"IHDR", data[:40])
