"""The HTML report: one self-contained file (inline CSS and JS, no network) in the manner of
spaCy's displaCy.

Left, a table of flags (both claims side by side, speakers, sides, relation, reason, score)
that sorts on a click on its header and filters by score, relation, reason, speaker, document
and free text. Right, every document that has a flag, its original text with each flagged
claim highlighted at its offsets and labelled with its speaker. A click on a row highlights
both claims (A blue, B pink) and scrolls to them; a click on a highlighted claim selects its
first row.

Everything from the data (article text, claims, speakers, ids) is HTML-escaped, and a
Content-Security-Policy allows only this file's own script and style (by hash), so a hostile
article cannot inject markup or script, nor make the page load anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Mapping

from pipeline.config import IngestConfig
from pipeline.run.atomic import atomically

__all__ = ["build_report", "load_texts", "write_report"]


def load_texts(inputs: Iterable[str], ingest: IngestConfig | Mapping | None,
               doc_ids: Iterable[str]) -> dict[str, str]:
    """The original texts of ``doc_ids``, read again lazily from ``inputs``: only the wanted
    documents are kept, and reading stops once all are found."""
    from pipeline.stages.ingest import iter_items
    from pipeline.types import Document

    if isinstance(ingest, Mapping):
        ingest = IngestConfig(**ingest)
    wanted = set(doc_ids)
    texts: dict[str, str] = {}
    if not wanted:
        return texts
    for item in iter_items(list(inputs), ingest):
        if isinstance(item, Document) and item.id in wanted and item.id not in texts:
            texts[item.id] = item.text
            if len(texts) == len(wanted):
                break
    return texts


@dataclass
class _Span:
    sid: str
    doc: str
    start: int
    end: int
    speaker: str
    side: str
    score: float = 0.0
    rows: list[int] = field(default_factory=list)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _level(score: float) -> int:
    return 3 if score >= 0.8 else 2 if score >= 0.5 else 1


def _display(text: str) -> str:
    """The text as shown: a single line break (hard wrapping) becomes a space, so paragraphs
    flow; blank lines stay. Same length as ``text``, so offsets still apply."""
    chars = list(text.replace("\r", " "))
    n = len(chars)
    for i, ch in enumerate(chars):
        if ch == "\n" and (i == 0 or chars[i - 1] != "\n") and (i + 1 >= n or chars[i + 1] != "\n"):
            chars[i] = " "
    return "".join(chars)


def _render_text(text: str, spans: list[_Span]) -> str:
    """The text with every span's characters wrapped in <mark data-s="ids of the spans that
    cover them">; overlapping spans split into pieces, each listing all its spans."""
    shown = _display(text)
    bounds = sorted({0, len(text)} | {s.start for s in spans} | {s.end for s in spans})
    starts: dict[int, list[_Span]] = {}
    ends: dict[int, list[_Span]] = {}
    for s in spans:
        starts.setdefault(s.start, []).append(s)
        ends.setdefault(s.end, []).append(s)
    active: dict[str, _Span] = {}
    out: list[str] = []
    for i, j in zip(bounds, bounds[1:]):
        for s in ends.get(i, []):
            active.pop(s.sid, None)
        for s in starts.get(i, []):
            active[s.sid] = s
            out.append(f'<a class="anchor" id="{s.sid}"></a>')
        piece = _e(shown[i:j])
        if active:
            ids = " ".join(active)
            lvl = _level(max(s.score for s in active.values()))
            out.append(f'<mark class="c l{lvl}" data-s="{ids}">{piece}</mark>')
        else:
            out.append(piece)
        for s in ends.get(j, []):
            if s.sid in active:
                who = s.speaker or "unattributed"
                cls = "lbl" if s.speaker else "lbl none"
                out.append(f'<span class="{cls}" data-s="{s.sid}">{_e(who)}</span>')
    return "".join(out)


def _num(row: Mapping, key: str, kind=float):
    try:
        return kind(row.get(key) or 0)
    except (TypeError, ValueError):
        return kind(0)


_CSS = """
:root{--a:#2563eb;--a-bg:#dbeafe;--b:#db2777;--b-bg:#fce7f3;--ink:#1f2328;--mut:#6b7280;
--line:#e5e7eb;--bg:#f6f6f3;--card:#fff}
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg);display:flex;flex-direction:column}
header{padding:12px 20px 10px;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0 0 2px;letter-spacing:-.01em}
h1 small{font-weight:500;color:var(--mut);font-size:13px;margin-left:8px}
.meta{color:var(--mut);font-size:12.5px}
.meta b{color:var(--ink);font-weight:600}
.controls{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:9px 20px;
background:#fbfbfa;border-bottom:1px solid var(--line);font-size:13px}
.controls label{display:flex;align-items:center;gap:6px;color:var(--mut)}
.controls input[type=search]{width:240px}
.controls input,.controls select,.controls button{font:inherit;color:var(--ink);padding:4px 7px;
border:1px solid #d1d5db;border-radius:6px;background:#fff}
.controls select{max-width:190px}
.controls input[type=range]{padding:0;width:120px;accent-color:var(--a)}
.controls output{font-variant-numeric:tabular-nums;color:var(--ink);min-width:2.6em}
.controls button{cursor:pointer}
#count{margin-left:auto;color:var(--mut)}
main{flex:1;min-height:0;display:grid;grid-template-columns:minmax(0,1.4fr) minmax(0,1fr)}
#flags,#docs{overflow:auto;min-height:0}
#docs{border-left:1px solid var(--line);padding:14px 18px}
@media (max-width:1000px){body{height:auto}main{display:block}#docs{border-left:0}}
table{border-collapse:separate;border-spacing:0;width:100%;background:var(--card)}
th{position:sticky;top:0;z-index:1;background:#f3f4f6;text-align:left;font-size:12px;
font-weight:600;color:#374151;padding:7px 8px;border-bottom:1px solid var(--line);
cursor:pointer;user-select:none;white-space:nowrap}
th:hover{background:#e9ebef}
th[aria-sort=ascending]::after{content:" \\25B2";font-size:9px}
th[aria-sort=descending]::after{content:" \\25BC";font-size:9px}
td{padding:7px 8px;border-bottom:1px solid #f0f1f3;vertical-align:top}
tbody tr{cursor:pointer}
tbody tr:hover{background:#fafafa}
tbody tr.sel{background:#eef2ff;box-shadow:inset 3px 0 var(--a)}
tbody tr.rel{background:#fff7ed}
td.num{color:var(--mut);font-variant-numeric:tabular-nums;text-align:right;width:2.5em}
td.score{font-variant-numeric:tabular-nums;width:4.2em;font-weight:600}
.bar{display:block;height:4px;background:#eceff3;border-radius:2px;margin-top:4px;overflow:hidden}
.bar i{display:block;height:100%;background:#f59e0b}
td.claim{width:33%}
td.topic{font-size:12px;color:var(--mut);min-width:7em}
.claim q{quotes:none;display:block}
.who{margin-top:3px;font-size:12px;color:var(--mut)}
.who b{color:var(--ink);font-weight:600}
a.jump{display:inline-block;font-size:10.5px;font-weight:700;border-radius:4px;padding:0 5px;
margin-right:5px;text-decoration:none;color:#fff;vertical-align:1px}
a.jump.a{background:var(--a)}a.jump.b{background:var(--b)}
.doc-id{font-size:11.5px;color:var(--mut);word-break:break-all}
.pill{display:inline-block;font-size:11.5px;padding:1px 7px;border-radius:10px;background:#f3f4f6;
color:#374151;white-space:nowrap;margin:0 3px 3px 0}
.pill.opposing_sides{background:#fee2e2;color:#991b1b}.pill.same_speaker{background:#ede9fe;color:#5b21b6}
.pill.same_side{background:#e0f2fe;color:#075985}.pill.cross_document{background:#dcfce7;color:#166534}
.pill.r{background:#fef3c7;color:#92400e}
#empty{padding:30px;text-align:center;color:var(--mut)}
.doc{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px;
margin:0 0 16px}
.doc h2{font-size:14.5px;margin:0 0 8px;display:flex;gap:10px;align-items:baseline}
.doc h2 span{font-weight:400;color:var(--mut);font-size:12px}
.warn{color:#b45309;font-size:12.5px;margin:0 0 8px}
.text{white-space:pre-wrap;line-height:2.05;font-size:14.5px;overflow-wrap:anywhere}
mark.c{background:#fef3c7;color:inherit;border-radius:4px;padding:2px 1px;cursor:pointer;
-webkit-box-decoration-break:clone;box-decoration-break:clone}
mark.l2{background:#fde68a}mark.l3{background:#fcd34d}
mark.on-b{background:var(--b-bg);box-shadow:0 0 0 2px var(--b)}
mark.on-a{background:var(--a-bg);box-shadow:0 0 0 2px var(--a)}
.lbl{font-size:9.5px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:#4b5563;
background:#eef0f3;border-radius:3px;padding:1px 4px;margin:0 4px 0 3px;vertical-align:1px;
white-space:nowrap}
.lbl.none{color:#9ca3af;font-weight:600}
.legend{font-size:12px;color:var(--mut);margin:0 0 12px}
.legend mark{padding:1px 5px;margin:0 3px}
[hidden]{display:none!important}
"""

_JS = """
(function () {
  "use strict";
  var tbody = document.querySelector("#flags tbody");
  var rows = Array.prototype.slice.call(tbody.rows);
  var $ = function (id) { return document.getElementById(id); };
  var q = $("q"), min = $("min"), minv = $("minv"), count = $("count"), empty = $("empty");
  var sel = { rel: $("f-rel"), reason: $("f-reason"), speaker: $("f-speaker"), doc: $("f-doc") };
  var total = rows.length, current = null;
  rows.forEach(function (r) { r.dataset.t = r.textContent.toLowerCase(); });

  function apply() {
    var t = q.value.trim().toLowerCase(), m = parseFloat(min.value) || 0, shown = 0;
    rows.forEach(function (r) {
      var d = r.dataset, ok = parseFloat(d.score) >= m - 1e-9;
      if (ok && sel.rel.value) ok = d.rel === sel.rel.value;
      if (ok && sel.reason.value) ok = d.rs.split(" ").indexOf(sel.reason.value) >= 0;
      if (ok && sel.speaker.value) ok = d.sa === sel.speaker.value || d.sb === sel.speaker.value;
      if (ok && sel.doc.value) ok = d.da === sel.doc.value || d.db === sel.doc.value;
      if (ok && t) ok = d.t.indexOf(t) >= 0;
      r.hidden = !ok;
      if (ok) shown++;
    });
    minv.textContent = m.toFixed(2);
    count.textContent = "showing " + shown + " of " + total + " flags";
    empty.hidden = shown > 0;
  }

  function sortBy(th) {
    var num = th.dataset.sort === "num", now = th.getAttribute("aria-sort");
    var asc = now ? now === "descending" : !num;
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var col = th.cellIndex, sign = asc ? 1 : -1;
    var key = function (r) { var c = r.cells[col]; return c.dataset.k !== undefined ? c.dataset.k : c.textContent; };
    rows.sort(function (x, y) {
      var a = key(x), b = key(y), c;
      c = num ? parseFloat(a) - parseFloat(b) : a.localeCompare(b);
      return c !== 0 ? sign * c : parseInt(x.dataset.i, 10) - parseInt(y.dataset.i, 10);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  function marks(sid) {
    return Array.prototype.slice.call(document.querySelectorAll('#docs mark[data-s~="' + sid + '"]'));
  }

  function select(r, go) {
    Array.prototype.forEach.call(document.querySelectorAll("#docs mark.on-a, #docs mark.on-b"),
      function (m) { m.classList.remove("on-a", "on-b"); });
    Array.prototype.forEach.call(tbody.querySelectorAll("tr.rel"), function (x) { x.classList.remove("rel"); });
    if (current) current.classList.remove("sel");
    current = r;
    r.classList.add("sel");
    var a = marks(r.dataset.a), b = marks(r.dataset.b);
    b.forEach(function (m) { m.classList.add("on-b"); });
    a.forEach(function (m) { m.classList.add("on-a"); });
    if (go === false) return;
    var pane = $("docs"), both = a.concat(b);
    if (go === "a" && a.length && b.length && a[0].closest(".doc") === b[0].closest(".doc") &&
        pane.scrollHeight > pane.clientHeight) {
      var top = Infinity, bottom = -Infinity;  // both claims in view when they fit
      both.forEach(function (m) {
        var rc = m.getBoundingClientRect(); top = Math.min(top, rc.top); bottom = Math.max(bottom, rc.bottom);
      });
      if (bottom - top < pane.clientHeight - 48) {
        var box = pane.getBoundingClientRect();
        pane.scrollTop += (top + bottom) / 2 - (box.top + pane.clientHeight / 2);
        return;
      }
    }
    var target = go === "b" ? b : a;
    if (!target.length) return;
    if (pane.scrollHeight > pane.clientHeight) {  // too far apart: the claim near the top
      pane.scrollTop += target[0].getBoundingClientRect().top - pane.getBoundingClientRect().top - 56;
    } else {
      target[0].scrollIntoView({ block: "center" });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("#flags thead th[data-sort]"), function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  q.addEventListener("input", apply);
  min.addEventListener("input", apply);
  Object.keys(sel).forEach(function (k) { sel[k].addEventListener("change", apply); });
  $("reset").addEventListener("click", function () {
    q.value = ""; min.value = min.min;
    Object.keys(sel).forEach(function (k) { sel[k].value = ""; });
    apply();
  });
  tbody.addEventListener("click", function (e) {
    var r = e.target.closest("tr"); if (!r) return;
    var j = e.target.closest("a.jump");
    if (j) e.preventDefault();
    select(r, j ? j.dataset.go : "a");
  });
  tbody.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.tagName === "TR") select(e.target, "a");
  });
  $("docs").addEventListener("click", function (e) {
    var m = e.target.closest("mark[data-s], .lbl[data-s]"); if (!m) return;
    var ids = m.dataset.s.split(" ");
    var hits = rows.filter(function (r) { return ids.indexOf(r.dataset.a) >= 0 || ids.indexOf(r.dataset.b) >= 0; });
    var vis = hits.filter(function (r) { return !r.hidden; });
    var first = (vis.length ? vis : hits)[0]; if (!first) return;
    if (first.hidden) { $("reset").click(); }
    select(first, false);
    hits.forEach(function (r) { if (r !== first) r.classList.add("rel"); });
    first.scrollIntoView({ block: "nearest" });
  });
  apply();
  var h = location.hash.slice(1);
  if (/^f[0-9]+$/.test(h) && $(h)) select($(h), "a");
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def _options(values: Iterable[str], label: str) -> str:
    opts = [f'<option value="">{_e(label)}</option>']
    opts += [f'<option value="{_e(v)}">{_e(v)}</option>' for v in values]
    return "".join(opts)


def build_report(rows: Iterable[Mapping], manifest: Mapping | None,
                 texts: Mapping[str, str]) -> str:
    """The report's HTML for ``rows`` (flag rows, best first) over ``texts`` (doc id -> the
    original text). Documents missing from ``texts`` are listed without their text."""
    manifest = manifest or {}
    rows = list(rows)
    spans: dict[tuple, _Span] = {}
    docs: dict[str, list[_Span]] = {}

    def span(row: Mapping, side: str, i: int, score: float) -> _Span:
        key = (str(row[f"doc_{side}"]), _num(row, f"start_{side}", int), _num(row, f"end_{side}", int))
        s = spans.get(key)
        if s is None:
            s = spans[key] = _Span(f"s{len(spans)}", key[0], key[1], key[2],
                                   str(row.get(f"speaker_{side}") or ""), str(row.get(f"side_{side}") or ""))
            docs.setdefault(key[0], []).append(s)
        s.score = max(s.score, score)
        s.rows.append(i)
        return s

    body: list[str] = []
    reasons: set[str] = set()
    for i, r in enumerate(rows):
        score = _num(r, "score")
        sa, sb = span(r, "a", i, score), span(r, "b", i, score)
        rs = [x for x in str(r.get("reason") or "").split("+") if x]
        reasons.update(rs)
        cells = []
        for side, s in (("a", sa), ("b", sb)):
            who = [f"<b>{_e(s.speaker)}</b>" if s.speaker else "unattributed"]
            if s.side:
                who.append(_e(s.side))
            stance = str(r.get(f"stance_{side}") or "")
            if stance and stance != "asserts":
                who.append(_e(stance))
            modality = str(r.get(f"modality_{side}") or "")
            if modality and modality != "asserted":
                who.append(_e(modality))  # hedged / hypothetical: not stated as a fact
            cells.append(
                f'<td class="claim" data-k="{_e(r.get(f"claim_{side}"))}">'
                f'<a class="jump {side}" data-go="{side}" href="#{s.sid}" title="show in the text">'
                f'{side.upper()}</a><span class="doc-id">{_e(s.doc)}</span>'
                f'<q>{_e(r.get(f"claim_{side}"))}</q><div class="who">{" · ".join(who)}</div></td>')
        width = max(0, min(100, round(score * 100)))
        pills = "".join('<span class="pill r">' + _e(x) + "</span>" for x in rs)
        body.append(
            f'<tr id="f{i}" tabindex="0" data-i="{i}" data-score="{score:.6f}" '
            f'data-rel="{_e(r.get("relation"))}" data-rs="{_e(" ".join(rs))}" '
            f'data-sa="{_e(sa.speaker)}" data-sb="{_e(sb.speaker)}" data-da="{_e(sa.doc)}" '
            f'data-db="{_e(sb.doc)}" data-a="{sa.sid}" data-b="{sb.sid}">'
            f'<td class="num">{i + 1}</td>'
            f'<td class="score" data-k="{score:.6f}">{score:.2f}'
            f'<span class="bar"><i class="w{width}"></i></span></td>'
            + "".join(cells)
            + f'<td data-k="{_e(r.get("relation"))}"><span class="pill {_e(r.get("relation"))}">'
            f'{_e(str(r.get("relation") or "").replace("_", " "))}</span></td>'
            f'<td data-k="{_e("+".join(rs))}">{pills}</td>'
            f'<td class="topic">{_e(r.get("topic"))}</td></tr>')

    order = [d for d in texts if d in docs] + [d for d in docs if d not in texts]
    doc_html: list[str] = []
    for n, d in enumerate(order):
        ds = docs[d]
        nflags = len({i for s in ds for i in s.rows})
        head = (f'<h2>{_e(d)}<span>{nflags} flag{"s" if nflags != 1 else ""}, '
                f'{len(ds)} claim{"s" if len(ds) != 1 else ""}</span></h2>')
        text = texts.get(d)
        if text is None:
            doc_html.append(f'<section class="doc" id="d{n}">{head}<p class="warn">The text of this '
                            f'document could not be read again; its claims are in the table.</p></section>')
            continue
        good = [s for s in ds if 0 <= s.start < s.end <= len(text)]
        warn = ""
        if len(good) < len(ds):
            warn = (f'<p class="warn">{len(ds) - len(good)} claim offsets fall outside this text '
                    f'(the file changed since the run?); they are not highlighted.</p>')
        doc_html.append(f'<section class="doc" id="d{n}">{head}{warn}'
                        f'<div class="text">{_render_text(text, good)}</div></section>')

    speakers = sorted({s.speaker for s in spans.values() if s.speaker}, key=str.lower)
    counts = manifest.get("counts") or {}
    model = manifest.get("model") or {}
    decision = manifest.get("decision") or {}
    meta = [f"<b>{len(rows)}</b> flags in <b>{len(docs)}</b> documents"]
    if counts:
        meta.append(f"{counts.get('documents', '?')} documents read, {counts.get('claims', '?')} claims, "
                    f"{counts.get('pairs', '?')} candidate pairs")
    if model:
        name = os.path.basename(str(model.get("name_or_path", "")).rstrip("/")) or "?"
        meta.append(f'model <b title="{_e(model.get("name_or_path"))}">{_e(name)}</b> '
                    f'({_e(model.get("backend", ""))})')
    if decision.get("method") == "threshold":
        meta.append(f"threshold <b>{_e(decision.get('threshold', ''))}</b>")
    elif decision:
        meta.append(f"decision <b>{_e(decision.get('method', ''))}</b>")
    if manifest.get("inputs"):
        meta.append("inputs " + ", ".join(_e(x) for x in manifest["inputs"]))
    lo = min((_num(r, "score") for r in rows), default=0.0)
    lo = int(lo * 100) / 100

    css = _CSS + "".join(f".bar i.w{w}{{width:{w}%}}" for w in range(101))
    csp = (f"default-src 'none'; img-src data:; style-src '{_sha256(css)}'; "
           f"script-src '{_sha256(_JS)}'; base-uri 'none'; form-action 'none'")
    title = "contradict report"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="contradict {_e(manifest.get('version', ''))}">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{css}</style>
</head>
<body>
<header>
<h1>Contradictions<small>contradict {_e(manifest.get('version', ''))}</small></h1>
<div class="meta">{" · ".join(meta)}</div>
</header>
<div class="controls" role="search">
<label>Search <input type="search" id="q" placeholder="claims, speakers, topics…"></label>
<label>Score &ge; <input type="range" id="min" min="{lo:.2f}" max="1" step="0.01" value="{lo:.2f}"><output id="minv">{lo:.2f}</output></label>
<select id="f-rel" aria-label="relation">{_options(sorted({str(r.get("relation") or "") for r in rows} - {""}), "any relation")}</select>
<select id="f-reason" aria-label="reason">{_options(sorted(reasons), "any reason")}</select>
<select id="f-speaker" aria-label="speaker">{_options(speakers, "any speaker")}</select>
<select id="f-doc" aria-label="document">{_options(order, "any document")}</select>
<button type="button" id="reset">Reset</button>
<span id="count">{len(rows)} flags</span>
</div>
<noscript><p class="warn">Sorting, filtering and highlighting on click need JavaScript.</p></noscript>
<main>
<div id="flags">
<table>
<thead><tr><th data-sort="num">#</th><th data-sort="num" aria-sort="descending">score</th>
<th data-sort="text">claim A</th><th data-sort="text">claim B</th><th data-sort="text">relation</th>
<th data-sort="text">reason</th><th data-sort="text">topic</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<p id="empty"{" hidden" if rows else ""}>No flags{"" if not rows else " match these filters"}.</p>
</div>
<div id="docs">
<p class="legend">Flagged claims are marked, darker for higher scores, with their speaker after them;
select a row to see its claim <mark class="c on-a">A</mark> and claim <mark class="c on-b">B</mark>.</p>
{chr(10).join(doc_html)}
</div>
</main>
<script>{_JS}</script>
</body>
</html>
"""  # noqa: E501 (the page's HTML: a line a control)


def write_report(path: str | Path, rows: Iterable[Mapping], manifest: Mapping | None = None,
                 texts: Mapping[str, str] | None = None, *, atomic: bool = True) -> int:
    """Write the report to ``path`` (atomically, unless ``atomic=False``: the caller renames
    it); returns the number of rows.

    Without ``texts`` the flagged documents are read again from ``manifest["inputs"]`` with
    ``manifest["config"]["ingest"]`` (only those that appear in the rows)."""
    rows = list(rows)
    if texts is None:
        manifest = manifest or {}
        wanted = {str(r[k]) for r in rows for k in ("doc_a", "doc_b")}
        ingest = (manifest.get("config") or {}).get("ingest")
        texts = load_texts(manifest.get("inputs") or [], ingest, wanted) if manifest.get("inputs") else {}
    page = build_report(rows, manifest, texts)
    path = Path(path)
    if not atomic:
        path.write_text(page, encoding="utf-8")
        return len(rows)
    atomically(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return len(rows)
