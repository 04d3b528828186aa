"""JSON Lines: bad input is an error naming file and line; any row read can be written."""

import json

import pytest

from zeroplay.jsonl import JsonlError, append_jsonl, cut_torn_tail, read_jsonl, write_jsonl


def test_a_line_nested_too_deeply_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a"}\n' + "[" * 100_000 + "\n")
    with pytest.raises(JsonlError, match=r"t\.jsonl:2: JSON nested too deeply"):
        read_jsonl(path)


def test_a_lone_surrogate_read_is_written_back(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "\\ud800", "text": "caf\\u00e9"}\n')
    rows = read_jsonl(path)
    assert rows == [{"id": "\ud800", "text": "café"}]
    out = tmp_path / "out.jsonl"
    write_jsonl(out, rows)
    assert read_jsonl(out) == rows
    append_jsonl(out, rows[0])
    assert read_jsonl(out) == rows * 2
    write_jsonl(None, rows)
    assert json.loads(capsys.readouterr().out) == rows[0]


def test_text_that_utf8_holds_stays_readable(tmp_path):
    out = tmp_path / "out.jsonl"
    write_jsonl(out, [{"text": "café ✓"}])
    assert out.read_text(encoding="utf-8") == '{"text": "café ✓"}\n'


@pytest.mark.parametrize(("tail", "cut"), [
    ('{"step": 7, "rew', 16),           # a crash in mid-line
    ('{"step": 7}', 11),                # whole, but its newline never written: cut too
    ('[1, 2]\n', 7),                    # not an object: no row of a run
    ("", 0),                            # nothing torn
])
def test_a_torn_last_line_is_cut_and_earlier_lines_kept(tmp_path, tail, cut):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 5}\n{"step": 6}\n' + tail)
    assert cut_torn_tail(path) == cut
    assert path.read_text() == '{"step": 5}\n{"step": 6}\n'
    append_jsonl(path, {"step": 7})
    assert [r["step"] for r in read_jsonl(path)] == [5, 6, 7]
    assert cut_torn_tail(tmp_path / "missing.jsonl") == 0
