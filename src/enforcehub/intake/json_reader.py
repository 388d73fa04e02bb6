"""JSON reading: an array of objects, ``{"records": [...]}``, or JSON Lines (one object per line).

Both shapes are streamed: JSON Lines line by line, JSON documents item by item with
``JSONDecoder.raw_decode`` over a sliding text buffer, so a large array never becomes one big
Python list. Numbers are kept exactly as written (``parse_int``/``parse_float`` return the
literal text), so an 18-digit ID never turns into ``1e+17`` and ``1.50`` stays ``1.50``.
The header is the union of keys in first-seen order, which needs one pass over the file at open
time; small files keep the parsed records from that pass instead of parsing twice.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import polars as pl

from enforcehub.intake.encoding import DecodeFailure, detect_encoding, sniff_bom
from enforcehub.intake.errors import ReaderNotice, ReadError, fmt_size, shorten
from enforcehub.intake.table import ROW_COLUMN, Source, Table, split_frame, tidy

CACHE_BYTES = 32 << 20  # files up to this size keep the records parsed at open time
READ_CHARS = 1 << 20
Record = dict[str, Any]


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return obj


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


DECODER = json.JSONDecoder(
    parse_int=str,
    parse_float=str,
    parse_constant=_bad_constant,
    object_pairs_hook=_pairs,
)


def _join(items: list[Any], where: str, where_en: str, key: str, row: int) -> str | None:
    parts: list[str] = []
    for item in items:
        if isinstance(item, list):
            inner = _join(item, where, where_en, key, row)
            if inner:
                parts.append(inner)
        elif item is not None:
            text = _text(item, where, where_en, key, row)
            if text:
                parts.append(text)
    return ";".join(parts) if parts else None


def _text(value: Any, where: str, where_en: str, key: str, row: int) -> str | None:
    """One JSON value as cell text: numbers as written, true/false, lists joined with ';'."""
    if value is None or type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return _join(value, where, where_en, key, row)
    raise ReadError(
        "nested-object",
        f"{where}字段“{shorten(key)}”的值是一个嵌套对象；每个字段只能是文字、数字、true/false 或列表。",
        f"{where_en}: field '{shorten(key)}' holds a nested object; "
        "values must be text, numbers, booleans or lists.",
        row=row,
        column=key,
    )


class _Text:
    """A sliding window of decoded text over a binary stream, with line/column bookkeeping."""

    def __init__(self, f: BinaryIO, codec: str, name: str) -> None:
        self.f, self.name = f, name
        self.decoder = codecs.getincrementaldecoder(codec)("strict")
        self.buf, self.pos, self.eof = "", 0, False
        self.line_base, self.col_base = 1, 0  # line and column of buf[0]

    def fill(self, at_least: int = READ_CHARS) -> None:
        """Drop consumed text (keeping line/column counts right) and append at least ``at_least`` more."""
        if self.pos > READ_CHARS:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.line_base += newlines
                self.col_base = self.pos - dropped.rfind("\n") - 1
            else:
                self.col_base += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        block = self.f.read(max(at_least, READ_CHARS))
        try:
            self.buf += self.decoder.decode(block, final=not block)
        except UnicodeDecodeError:
            line, _ = self.where(len(self.buf))
            raise ReadError(
                "undecodable",
                f"{self.name}：第 {line} 行附近有无法识别的字符，文件编码不一致或已损坏。",
                f"{self.name}: undecodable bytes near line {line}; "
                "the encoding is mixed or the file is damaged.",
                row=line,
            ) from None
        self.eof = not block

    def where(self, index: int) -> tuple[int, int]:
        """1-based (line, column) in the file of ``buf[index]``."""
        seg = self.buf[:index]
        newlines = seg.count("\n")
        if newlines:
            return self.line_base + newlines, index - seg.rfind("\n")
        return self.line_base, self.col_base + index + 1

    def peek(self) -> str | None:
        """Skip whitespace and return the next character (None at the end of the file)."""
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < n:
                return self.buf[self.pos]
            if self.eof:
                return None
            self.fill()

    def invalid(self, index: int, what_zh: str, what_en: str) -> ReadError:
        """An 'invalid-json' error located at ``buf[index]``."""
        line, col = self.where(index)
        return ReadError(
            "invalid-json",
            f"{self.name}：JSON 格式错误，第 {line} 行第 {col} 列：{what_zh}。",
            f"{self.name}: invalid JSON at line {line}, column {col}: {what_en}.",
            row=line,
            column=str(col),
        )

    def value(self, limit: int) -> Any:
        """Decode the JSON value at the cursor, reading more text while it may be cut off."""
        if self.peek() is None:
            raise self.invalid(self.pos, "文件意外结束，缺少值", "unexpected end of file")
        while True:
            try:
                obj, end = DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut_off = exc.pos >= len(self.buf) - 8 or exc.msg.startswith("Unterminated string")
                if self.eof or not cut_off:
                    raise self.invalid(exc.pos, _zh(exc.msg), exc.msg) from None
            except _DuplicateKey as exc:
                raise self.invalid(
                    self.pos, f"对象中有重复的键“{shorten(exc.key)}”", f"duplicate key '{shorten(exc.key)}'"
                ) from None
            except (ValueError, RecursionError) as exc:
                raise self.invalid(self.pos, "包含 NaN/Infinity 或嵌套过深", shorten(str(exc), 60)) from None
            else:
                if end < len(self.buf) or self.eof:
                    if end - self.pos > limit:
                        raise self.too_long(limit)
                    self.pos = end
                    return obj
            if len(self.buf) - self.pos > limit:
                raise self.too_long(limit)
            self.fill(len(self.buf) - self.pos)  # grow geometrically: a long item is re-parsed O(log n) times

    def too_long(self, limit: int) -> ReadError:
        """A 'line-too-long' error for the record starting at the cursor."""
        line, _ = self.where(self.pos)
        return ReadError(
            "line-too-long",
            f"{self.name}：从第 {line} 行开始的一条记录超过 {fmt_size(limit)}。",
            f"{self.name}: the record starting on line {line} is larger than {fmt_size(limit)}.",
            row=line,
        )


_ZH = {
    "Expecting value": "缺少值",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "键名必须用英文双引号括起来（或多了一个逗号）",
    "Unterminated string starting at": "字符串没有结束引号",
    "Invalid control character at": "字符串中有未转义的控制字符（如换行）",
    "Extra data": "JSON 结束后还有多余内容",
}


def _zh(msg: str) -> str:
    return next((zh for en, zh in _ZH.items() if msg.startswith(en)), msg)


def _not_object(name: str, kind: str, where: int, value: Any) -> ReadError:
    # Numbers arrive as text (parse_int=str), so only arrays can be named reliably.
    what = "是数组" if isinstance(value, list) else f"值为 {shorten(json.dumps(value, ensure_ascii=False))}"
    zh_where = f"第 {where} 行" if kind == "jsonl" else f"第 {where} 条记录"
    en_where = f"line {where}" if kind == "jsonl" else f"item {where}"
    return ReadError(
        "not-object",
        f"{name}：{zh_where}不是 JSON 对象（{what}）；每条记录必须是 {{...}} 形式的对象。",
        f"{name}: {en_where} is not a JSON object.",
        row=where,
    )


def iter_document(f: BinaryIO, codec: str, name: str, limit: int) -> Iterator[tuple[int, Record]]:
    """Yield (1-based index, object) from ``[...]`` or ``{"records": [...]}``."""
    text = _Text(f, codec, name)
    first = text.peek()
    if first is None:
        raise ReadError("empty-file", f"文件“{name}”是空的。", f"'{name}' is empty.")
    found = False
    if first == "[":
        text.pos += 1
        yield from _iter_array(text, name, limit)
        found = True
    elif first == "{":
        text.pos += 1
        while True:
            c = text.peek()
            if c == "}" and not found:
                text.pos += 1
                break
            if c != '"':
                raise text.invalid(text.pos, "应为用英文双引号括起来的键名", "expected a quoted key")
            key = text.value(limit)
            if text.peek() != ":":
                raise text.invalid(text.pos, "缺少冒号", "expected ':'")
            text.pos += 1
            if key == "records":
                if text.peek() != "[":
                    raise text.invalid(text.pos, "records 的值必须是数组", "'records' must be an array")
                text.pos += 1
                yield from _iter_array(text, name, limit)
                found = True
            else:
                text.value(limit)
            c = text.peek()
            text.pos += 1
            if c == "}":
                break
            if c != ",":
                raise text.invalid(text.pos - 1, "缺少逗号或右花括号", "expected ',' or '}'")
        if not found:
            raise ReadError(
                "no-records",
                f"{name}：JSON 对象中没有“records”数组；应为 [ {{...}}, ... ] 或 "
                '{"records": [ {...}, ... ]}。',
                f"{name}: the JSON object has no 'records' array.",
            )
    else:
        raise text.invalid(text.pos, "JSON 必须以 [ 或 { 开头", "JSON must start with '[' or '{'")
    if text.peek() is not None:
        raise text.invalid(text.pos, "JSON 结束后还有多余内容", "extra data after the JSON value")


def _iter_array(text: _Text, name: str, limit: int) -> Iterator[tuple[int, Record]]:
    if text.peek() == "]":
        text.pos += 1
        return
    index = 0
    while True:
        index += 1
        item = text.value(limit)
        if not isinstance(item, dict):
            raise _not_object(name, "json", index, item)
        yield index, item
        c = text.peek()
        text.pos += 1
        if c == "]":
            return
        if c != ",":
            raise text.invalid(text.pos - 1, "数组元素之间缺少逗号或缺少右方括号", "expected ',' or ']'")


def iter_lines(f: BinaryIO, codec: str, name: str, limit: int) -> Iterator[tuple[int, Record]]:
    """Yield (line number, object) from JSON Lines, skipping blank lines."""
    text = io.TextIOWrapper(f, encoding=codec, errors="strict", newline="")
    number = 0
    while True:
        try:
            line = text.readline(limit + 1)
        except UnicodeDecodeError:
            raise ReadError(
                "undecodable",
                f"{name}：第 {number + 1} 行有无法识别的字符，文件编码不一致或已损坏。",
                f"{name}: line {number + 1} has undecodable bytes.",
                row=number + 1,
            ) from None
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise ReadError(
                "line-too-long",
                f"{name}：第 {number} 行超过 {fmt_size(limit)}。",
                f"{name}: line {number} is longer than {fmt_size(limit)}.",
                row=number,
            )
        stripped = line.strip()
        if not stripped:
            continue
        try:
            obj = DECODER.decode(stripped)
        except json.JSONDecodeError as exc:
            col = exc.colno + len(line) - len(line.lstrip())
            raise ReadError(
                "invalid-json",
                f"{name}：JSON 格式错误，第 {number} 行第 {col} 列：{_zh(exc.msg)}。",
                f"{name}: invalid JSON at line {number}, column {col}: {exc.msg}.",
                row=number,
                column=str(col),
            ) from None
        except _DuplicateKey as exc:
            raise ReadError(
                "invalid-json",
                f"{name}：第 {number} 行的对象中有重复的键“{shorten(exc.key)}”。",
                f"{name}: line {number} has the duplicate key '{shorten(exc.key)}'.",
                row=number,
            ) from None
        except (ValueError, RecursionError):
            raise ReadError(
                "invalid-json",
                f"{name}：第 {number} 行包含 NaN/Infinity 或嵌套过深，不是合法 JSON。",
                f"{name}: line {number} holds NaN/Infinity or is nested too deeply.",
                row=number,
            ) from None
        if not isinstance(obj, dict):
            raise _not_object(name, "jsonl", number, obj)
        yield number, obj


def _normalise(obj: Record, where: str, where_en: str, row: int) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, value in obj.items():
        k = key.strip()
        if k in out:
            raise ReadError(
                "duplicate-column",
                f"{where}有两个去掉空格后相同的键“{shorten(k)}”。",
                f"{where_en} has two keys that are equal once trimmed: '{shorten(k)}'.",
                row=row,
            )
        out[k] = value if type(value) is str else _text(value, where, where_en, k, row)
    return out


class JsonTable(Table):
    """A JSON document or JSON Lines file."""

    def __init__(
        self,
        source: Source,
        fmt: str,
        codec: str,
        skip: int,
        label: str,
        limit: int,
        notices: list[ReaderNotice],
    ) -> None:
        self._codec, self._skip, self._limit, self._document = codec, skip, limit, fmt == "json"
        keys: dict[str, None] = {}
        cache: list[tuple[int, dict[str, str | None]]] | None = [] if source.size <= CACHE_BYTES else None
        for row, record in self._records(source.name, source):
            keys.update(dict.fromkeys(record))
            if cache is not None:
                cache.append((row, record))
        headers = list(keys)
        if not headers:
            raise ReadError(
                "empty-file",
                f"{source.name}：没有任何记录（或所有记录都是空对象）。",
                f"{source.name}: there are no records (or all records are empty objects).",
            )
        if "" in keys or ROW_COLUMN in keys:
            empty = "" in keys
            what_zh = "空的键名" if empty else f"保留的键名 {ROW_COLUMN}"
            what_en = "an empty key" if empty else ROW_COLUMN
            raise ReadError(
                "empty-header" if empty else "reserved-column",
                f"{source.name}：有记录使用了{what_zh}。",
                f"{source.name}: a record uses {what_en}.",
            )
        super().__init__(source, fmt, headers, encoding=label, notices=notices)
        self._cache = cache

    def _records(self, name: str, source: Source) -> Iterator[tuple[int, dict[str, str | None]]]:
        with source.open() as f:
            f.seek(self._skip)
            reader = iter_document if self._document else iter_lines
            unit_zh, unit_en = ("条记录", "item") if self._document else ("行", "line")
            for row, obj in reader(f, self._codec, name, self._limit):
                yield row, _normalise(obj, f"{name}：第 {row} {unit_zh}", f"{name}: {unit_en} {row}", row)

    def chunks(self, size: int = 200_000) -> Iterator[pl.DataFrame]:
        """Yield frames of at most ``size`` records; ``__row__`` is the line (JSONL) or 1-based index."""
        if size <= 0:
            raise ValueError("chunk size must be positive")
        records = self._cache if self._cache is not None else self._records(self.name, self.source)
        batch: list[tuple[int, dict[str, str | None]]] = []
        for item in records:
            batch.append(item)
            if len(batch) >= size:
                yield from split_frame(self._frame(batch), size)
                batch = []
        if batch:
            yield from split_frame(self._frame(batch), size)

    def _frame(self, batch: list[tuple[int, dict[str, str | None]]]) -> pl.DataFrame:
        data = {h: [r.get(h) for _, r in batch] for h in self.headers}
        df = pl.DataFrame(data, schema={h: pl.String for h in self.headers})
        return tidy(df, self.headers, 0, rows=pl.Series([row for row, _ in batch], dtype=pl.Int64))


def open_json(
    source: Source, fmt: str, *, max_line_bytes: int, format_notice: ReaderNotice | None = None
) -> JsonTable:
    """Open a JSON document (fmt 'json') or JSON Lines file (fmt 'jsonl')."""
    notices: list[ReaderNotice] = [format_notice] if format_notice else []
    with source.open() as f:
        sample = f.read(1 << 16)
    bom, skip = sniff_bom(sample)
    if bom is not None:
        codec = "utf-8" if bom == "utf-8-sig" else bom
        label = "utf-8-sig" if bom == "utf-8-sig" else "utf-16"
    else:
        try:
            codec = label = detect_encoding(sample, len(sample) >= source.size)
        except DecodeFailure as exc:
            line = sample[: exc.offset].count(b"\n") + 1
            raise ReadError(
                "undecodable",
                f"{source.name}：第 {line} 行有无法识别的字符，既不是 UTF-8 也不是 GBK。",
                f"{source.name}: line {line} is neither UTF-8 nor GBK.",
                row=line,
            ) from None
        if codec == "gb18030":
            notices.append(
                ReaderNotice(
                    "encoding-detected",
                    "文件编码为 GBK/GB18030，已自动转换为 UTF-8 读取。",
                    "The file is encoded as GB18030; it was converted to UTF-8.",
                )
            )
    return JsonTable(source, fmt, codec, skip, label, max_line_bytes, notices)
