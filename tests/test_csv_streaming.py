"""Issue 29 item 10: a CSV is streamed. The header is checked before the file is read, and a
record is held only up to 6 x ingest.max_bytes characters, so memory does not grow with the
file."""

from __future__ import annotations

import tracemalloc

from pipeline.config import IngestConfig
from pipeline.stages.ingest import iter_items
from pipeline.types import Document, Skipped

ROW = "The minister said 2 doses arrived and the hospital said none had come at all."


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_header_without_text_is_refused_before_the_file_is_read(tmp_path):
    p = tmp_path / "big.csv"
    with p.open("w", encoding="utf-8") as fh:
        fh.write("id,body\n")
        for i in range(200_000):  # 17 MB
            fh.write(f"r{i},{ROW}\n")
    got = []
    peak = _peak(lambda: got.extend(iter_items([p])))
    [skip] = got
    assert isinstance(skip, Skipped) and "lacks the text column 'text'" in skip.reason
    assert peak < 1_000_000, peak


def test_records_are_streamed_one_at_a_time(tmp_path):
    p = tmp_path / "rows.csv"
    n = 4_000  # 3.2 MB (few ids: iter_items keeps every id to refuse duplicates)
    with p.open("w", encoding="utf-8") as fh:
        fh.write("id,text\n")
        for i in range(n):
            fh.write(f'r{i},"{ROW * 10} ({i})"\n')
    count = [0]

    def read():
        for item in iter_items([p]):
            assert isinstance(item, Document)
            count[0] += 1

    peak = _peak(read)
    assert count[0] == n
    assert peak < 1_500_000, peak  # the whole file would be 3 copies of 3.4 MB


def test_a_record_over_the_cap_is_skipped_unread_and_the_next_rows_are_read(tmp_path):
    cfg = IngestConfig(max_bytes=100)  # cap: 6 x 100 + 1024 characters
    p = tmp_path / "cap.csv"
    huge = "\n".join(["a long, quoted field"] * 200)  # 4,200 characters over 200 lines
    p.write_text(f'id,text\nc1,{ROW}\nc2,"{huge}"\nc3,{ROW}\nc4,"{"x" * 5000}"\nc5,{ROW}\n',
                 encoding="utf-8")
    items = list(iter_items([p], cfg))
    assert [i.id for i in items if isinstance(i, Document)] == ["c1", "c3", "c5"]
    skips = [(s.line, s.reason) for s in items if isinstance(s, Skipped)]
    assert [ln for ln, _ in skips] == [3, 204]
    assert all("over 1624 characters" in r and "not read" in r for _, r in skips)


def test_an_unclosed_quote_over_the_cap_still_reads_the_rows_after_it(tmp_path):
    cfg = IngestConfig(max_bytes=100)
    p = tmp_path / "open.csv"
    rows = "".join(f"c{i},{ROW}\n" for i in range(2, 40))  # 3,000+ characters after it
    p.write_text(f'id,text\nc1,"{ROW}\n{rows}', encoding="utf-8")
    items = list(iter_items([p], cfg))
    assert [i.id for i in items if isinstance(i, Document)] == [f"c{i}" for i in range(2, 40)]
    [skip] = [s for s in items if isinstance(s, Skipped)]
    assert skip.line == 2 and "unclosed quote" in skip.reason


def test_invalid_utf8_late_in_the_file_refuses_it_whole(tmp_path):
    p = tmp_path / "late.csv"
    body = "".join(f"c{i},{ROW}\n" for i in range(2000)).encode()
    p.write_bytes(b"id,text\n" + body + b"c9,bad \xff byte\n")
    items = list(iter_items([p]))
    [skip] = items
    assert skip.reason == f"not valid UTF-8 at byte {8 + len(body) + 7}; re-save the file as UTF-8"
