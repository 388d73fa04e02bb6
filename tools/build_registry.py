"""Build the packaged legal and division reference data from the shared source tree.

Run from the repository root::

    .venv/bin/python tools/build_registry.py \\
        --laws /work/shared/data/laws \\
        --divisions /work/shared/data/divisions/guangdong.csv \\
        --out src/enforcehub/standard/data

Writes ``laws.json.xz`` (one entry per instrument version, lzma/xz-compressed JSON) and
``divisions.csv`` (cleaned GB/T 2260 codes of Guangdong).  The output is deterministic: the same
input gives byte-identical files (sorted input files, sorted keys, fixed xz preset, no timestamps).

Only this script reads the shared source tree; the package reads the files it writes.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import json
import lzma
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
XZ_PRESET = 9 | lzma.PRESET_EXTREME

# folder (first path component under the laws root) -> (field, level)
FOLDERS: dict[str, tuple[str, str]] = {
    "行政法": ("行政法", "法律"),
    "经济法": ("经济法", "法律"),
    "社会法": ("社会法", "法律"),
    "行政法规": ("行政法规", "行政法规"),
    "部门规章": ("部门规章", "部门规章"),
    "地方性法规": ("地方性法规", "地方性法规"),
}
# when the same name and date is present in two folders, the first folder here wins
FOLDER_PRIORITY = list(FOLDERS)

# 部门规章 sub-folder -> issuing body used when the history names none
MINISTRY_FOLDERS = {
    "市场监督管理总局": "国家市场监督管理总局",
    "人力资源社会保障部": "人力资源和社会保障部",
    "公安部": "公安部",
    "国家安全部": "国家安全部",
}
DEFAULT_ISSUER = {
    "法律": "全国人民代表大会常务委员会",
    "行政法规": "国务院",
    "部门规章": "国务院部门",
    "地方性法规": "广东省人民代表大会常务委员会",
}

FILE_RE = re.compile(r"^(?P<name>.+)\((?P<date>\d{4}-\d{2}-\d{2})\)\.md$")
NUM = "零〇一二两三四五六七八九十百千"
ARTICLE_RE = re.compile(rf"^第([{NUM}]+)条(之[{NUM}]+)?(?:[\s\u3000]+|$)")
# an article number inside a paragraph (some files put a whole chapter on one line)
INLINE_ARTICLE_RE = re.compile(rf"(?<=[\s\u3000])第([{NUM}]+)条(之[{NUM}]+)?[\s\u3000]")
CHAPTER_RE = re.compile(rf"^第[{NUM}]+[编章节]")
# chapter headings some files write as plain text lines instead of ``## …``
PLAIN_HEADING_RE = re.compile(
    rf"^(?:第[{NUM}]+[编章节](?:[\s\u3000].{{0,30}})?|附[\s\u3000]*则|总[\s\u3000]*则)$"
)
APPENDIX_RE = re.compile(
    r"^(?:附(?:件|表|录|图)?[一二三四五六七八九十\d]*(?:[\s\u3000：:]|$)"
    r"|[^，。；：:|]{2,30}表[一二三四五六七八九十]?(?:[（(][^）)]*[）)])?$)"
)
INFO_END = "<!-- INFO END -->"
CN_DIGIT = "〇零一二三四五六七八九十"
CN_DATE_RE = re.compile(rf"[{CN_DIGIT}]{{4}}年[{CN_DIGIT}]{{1,2}}月[{CN_DIGIT}]{{1,3}}日")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
DATE_PREFIX_RE = re.compile(r"^[（(]?\s*[0-9０-９]{4}\s*年\s*[0-9０-９]{1,2}\s*月\s*[0-9０-９]{1,2}\s*日\s*")


def cn_to_int(text: str) -> int:
    """Convert a Chinese numeral of the kind used for article numbers (一百二十四) to an int."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    units = {"十": 10, "百": 100, "千": 1000}
    total, pending = 0, 0
    for ch in text:
        if ch in digits:
            pending = digits[ch]
        elif ch in units:
            total += (pending or 1) * units[ch]
            pending = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + pending


@dataclass
class Parsed:
    """One parsed source file."""

    path: str
    name: str
    title: str
    level: str
    field: str
    subfolder: str
    version_date: str
    history: list[str]
    articles: list[tuple[int, str, str]]
    preamble: str
    appendix: str
    notes: list[str] = dataclasses.field(default_factory=list)


def clean_line(line: str) -> str:
    """Strip invisible characters and surrounding (also full-width) whitespace."""
    return line.translate(INVISIBLE).strip().strip("\u3000").strip()


def _title_key(text: str) -> str:
    return re.sub(r"[\s\u3000《》〈〉<>]", "", text)


def drop_title_repeat(lines: list[str], title: str) -> list[str]:
    """Drop leading lines that only repeat the title (some files repeat it, broken over lines)."""
    key = _title_key(title)
    acc = ""
    for i, line in enumerate(lines):
        acc += _title_key(line)
        if not acc or not key.startswith(acc):
            return lines
        if acc == key:
            return lines[i + 1 :]
    return lines


def merge_history(lines: list[str]) -> list[str]:
    """Re-join history lines that the source broke inside a ``《…》`` title."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].count("《") > out[-1].count("》") and not DATE_PREFIX_RE.match(line):
            out[-1] += line
        else:
            out.append(line)
    return out


def split_inline_articles(paragraph: str, expected: int) -> list[str]:
    """Split a paragraph holding several articles (``第一条 … 第二条 …``) at the article numbers.

    Only numbers that continue the running sequence (``expected``, ``expected + 1``, …) are split at,
    so a cross-reference such as ``依照本法第十二条规定`` inside a paragraph is left alone.
    """
    parts: list[str] = []
    start = 0
    for m in INLINE_ARTICLE_RE.finditer(paragraph):
        if m.group(2):
            continue
        try:
            number = cn_to_int(m.group(1))
        except ValueError:
            continue
        if number != expected:
            continue
        parts.append(paragraph[start : m.start()].rstrip())
        start = m.start()
        expected += 1
    parts.append(paragraph[start:])
    return [p for p in parts if p]


def parse_file(path: Path, root: Path) -> Parsed:
    """Parse one statute Markdown file."""
    rel = path.relative_to(root)
    folder = rel.parts[0]
    subfolder = rel.parts[1] if len(rel.parts) > 2 else ""
    field_, level = FOLDERS[folder]
    m = FILE_RE.match(path.name)
    if not m:
        raise ValueError(f"{rel}: file name is not 名称(YYYY-MM-DD).md")
    name = m.group("name")
    version_date = dt.date.fromisoformat(m.group("date")).isoformat()
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
    notes: list[str] = []
    if INFO_END in text:
        head, body = text.split(INFO_END, 1)
    else:
        head, body = text, ""
        notes.append("no INFO END marker")
    head_lines = [clean_line(x) for x in head.split("\n")]
    head_lines = [x for x in head_lines if x]
    title = name
    if head_lines and head_lines[0].startswith("#"):
        title = head_lines[0].lstrip("#").strip()
        head_lines = head_lines[1:]
    else:
        notes.append("no '# title' line")
    history = merge_history(drop_title_repeat(head_lines, title))

    articles: list[tuple[int, str, list[str]]] = []
    preamble: list[str] = []
    appendix: list[str] = []
    in_appendix = False
    for raw in body.split("\n"):
        line = clean_line(raw)
        if not line:
            continue
        heading = line.startswith("#")
        plain = line.lstrip("#").strip() if heading else line
        if in_appendix:
            appendix.append(plain)
            if ARTICLE_RE.match(plain) and not heading:
                notes.append(f"article-like line inside the appendix: {plain[:30]}")
            continue
        if not heading and PLAIN_HEADING_RE.match(line):
            heading = True
            notes.append(f"plain-text chapter heading {line!r} treated as a heading")
        if heading:
            if articles or CHAPTER_RE.match(plain):
                continue  # chapter / section headings are structure, not article text
            preamble.append(plain)
            continue
        if articles and APPENDIX_RE.match(plain):
            in_appendix = True
            appendix.append(plain)
            continue
        lead = ARTICLE_RE.match(line)
        last = articles[-1][0] if articles else -1
        expected = cn_to_int(lead.group(1)) + 1 if lead else last + 1
        chunks = split_inline_articles(line, expected) if expected else [line]
        if len(chunks) > 1:
            notes.append(f"{len(chunks)} articles on one line split apart")
        for chunk in chunks:
            am = ARTICLE_RE.match(chunk)
            if am:
                number = cn_to_int(am.group(1))
                suffix = am.group(2) or ""
                articles.append((number, suffix, [chunk[am.end() :].strip()]))
            elif articles:
                articles[-1][2].append(chunk)
            else:
                preamble.append(chunk)
    preamble = drop_title_repeat(preamble, title)
    if not articles:
        notes.append("no articles (第X条) found; body kept as preamble" if preamble else "empty body")
    return Parsed(
        path=str(rel),
        name=name,
        title=title,
        level=level,
        field=field_,
        subfolder=subfolder,
        version_date=version_date,
        history=history,
        articles=[(n, s, "\n".join(p for p in parts if p)) for n, s, parts in articles],
        preamble="\n".join(preamble),
        appendix="\n".join(appendix),
        notes=notes,
    )


def check_numbering(p: Parsed) -> list[str]:
    """Report gaps, repeats and disorder in the article numbers of one version."""
    problems: list[str] = []
    previous: tuple[int, str] | None = None
    seen: set[tuple[int, str]] = set()
    for number, suffix, text in p.articles:
        key = (number, suffix)
        if key in seen:
            problems.append(f"article {number}{suffix} repeated")
        seen.add(key)
        if previous is None:
            if number != 1:
                problems.append(f"first article is {number}")
        elif suffix:
            if number != previous[0]:
                problems.append(f"article {number}{suffix} after {previous[0]}{previous[1]}")
        elif number != previous[0] + 1:
            problems.append(f"article {number} after {previous[0]}{previous[1]}")
        if not text:
            problems.append(f"article {number}{suffix} has no text")
        previous = key
    return problems


# --------------------------------------------------------------------------- issuer


def _normalise_body(body: str) -> str:
    body = re.sub(r"[（(][^）)]*[）)]", "", body)
    body = body.replace("中华人民共和国", "").replace("中央军委", "中央军事委员会")
    body = re.sub(r"\s*/\s*|\s+", "、", body.strip(" 、，,"))
    parts = [x for x in body.split("、") if x]
    return "、".join(dict.fromkeys(parts))


def derive_issuer(level: str, subfolder: str, history: list[str], title: str) -> str:
    """Derive the issuing (enacting) body from the adoption lines of the history.

    The enacting lines are the ones before the first amendment (修正/修订/《…决定》) line; lines
    without a leading date continue the previous line (some files break a list of bodies over lines).
    """
    enacting: list[str] = []
    for line in history:
        if "《" in line or re.search(r"修[正订改]", line):
            if enacting:
                break
            continue
        if DATE_PREFIX_RE.match(line) or not enacting:
            enacting.append(line)
        else:
            enacting[-1] += " " + line
    enacting = [DATE_PREFIX_RE.sub("", x).strip(" ()（）") for x in enacting]

    if level == "法律":
        for line in enacting:
            if "全国人民代表大会常务委员会" in line:
                return "全国人民代表大会常务委员会"
            if "全国人民代表大会" in line:
                return "全国人民代表大会"
        return DEFAULT_ISSUER[level]
    if level == "地方性法规":
        for line in enacting:
            m = re.match(r"(.+?[省市])第[^届]*届人民代表大会(常务?委员会)?", line)
            if m:
                return m.group(1) + "人民代表大会" + ("常务委员会" if m.group(2) else "")
        return DEFAULT_ISSUER[level]
    # 行政法规 and 部门规章: a notice signed by a body and dated in Chinese numerals (一九九四年十二月六日)
    for previous, line in itertools.pairwise(history):
        if CN_DATE_RE.fullmatch(line) and len(previous) <= 20:
            return _normalise_body(previous)
    # otherwise the body that published it (发布/公布) or adopted it at a meeting
    approved_by_state_council = False
    for line in enacting:
        body = re.sub(r"令?第\s*\d+\s*号令?", "", line)
        body = body.replace("修订", "")
        m = re.match(r"(?:经)?(.+?)(?:\d{4}年)?第\s*[\dX一二三四五六七八九十百]+\s*次.*会议", body)
        if m and "批准" not in body:
            return _normalise_body(m.group(1))
        for piece in re.split(r"\s+", body):
            if piece.endswith("批准") or piece.endswith("批准、"):
                approved_by_state_council = approved_by_state_council or "国务院" in piece
        body = re.sub(r"^.*?批准[、\s]*", "", body)
        m = re.match(r"(.+?)(?:发布|公布|颁发|颁布)(?:[，,。\s].*)?$", body)
        if m and m.group(1).strip(" 、，,"):
            return _normalise_body(m.group(1))
        if re.fullmatch(r"[^\d，。]+", body) and not re.search(r"施行|通过|批准|发布|公布", body):
            return _normalise_body(body)
    if level == "部门规章":
        return MINISTRY_FOLDERS.get(subfolder, DEFAULT_ISSUER[level])
    m = re.match(r"(国务院(?:、中央军委|、中央军事委员会)?)关于", title)
    if m:
        return _normalise_body(m.group(1))
    if approved_by_state_council:
        return "国务院"
    return DEFAULT_ISSUER[level]


# --------------------------------------------------------------------------- laws


def law_id(name: str, version_date: str) -> str:
    """Stable identifier of one instrument version: a short hash of name and version date."""
    digest = hashlib.sha256(f"{name}@{version_date}".encode()).hexdigest()
    return "L" + digest[:12]


def build_laws(root: Path, log: list[str]) -> list[dict[str, Any]]:
    """Parse every statute file under ``root`` into JSON-ready entries, one per name and date."""
    files = sorted(
        (p for p in root.rglob("*.md") if p.name not in {"_index.md", "README.md"}),
        key=lambda p: str(p.relative_to(root)),
    )
    parsed: dict[tuple[str, str], Parsed] = {}
    for path in files:
        rel = path.relative_to(root)
        if rel.parts[0] not in FOLDERS:
            log.append(f"SKIP {rel}: unknown folder")
            continue
        try:
            p = parse_file(path, root)
        except (ValueError, UnicodeDecodeError) as exc:
            log.append(f"FAIL {rel}: {exc}")
            continue
        for note in p.notes:
            log.append(f"NOTE {rel}: {note}")
        for problem in check_numbering(p):
            log.append(f"NUMBERING {rel}: {problem}")
        key = (p.name, p.version_date)
        other = parsed.get(key)
        if other is not None:
            keep, drop = sorted(
                (other, p), key=lambda x: (FOLDER_PRIORITY.index(x.path.split("/")[0]), x.path)
            )
            same = [a[:2] for a in keep.articles] == [a[:2] for a in drop.articles]
            log.append(
                f"DUPLICATE {key[0]}({key[1]}): kept {keep.path}, dropped {drop.path}"
                f" (article numbers {'identical' if same else 'DIFFER'})"
            )
            parsed[key] = keep
        else:
            parsed[key] = p

    by_name: dict[str, list[Parsed]] = {}
    for (name, _), p in sorted(parsed.items()):
        by_name.setdefault(name, []).append(p)

    entries: list[dict[str, Any]] = []
    for _name, versions in sorted(by_name.items()):
        versions.sort(key=lambda x: x.version_date)
        for i, p in enumerate(versions):
            effective_to = None
            if i + 1 < len(versions):
                nxt = dt.date.fromisoformat(versions[i + 1].version_date)
                effective_to = (nxt - dt.timedelta(days=1)).isoformat()
            entries.append(
                {
                    "law_id": law_id(p.name, p.version_date),
                    "name": p.name,
                    "title": p.title,
                    "level": p.level,
                    "field": p.field,
                    "issuer": derive_issuer(p.level, p.subfolder, p.history, p.title),
                    "version_date": p.version_date,
                    "effective_from": p.version_date,
                    "effective_to": effective_to,
                    "history": p.history,
                    "articles": [[n, s, t] for n, s, t in p.articles],
                    "preamble": p.preamble,
                    "appendix": p.appendix,
                    "source": p.path,
                }
            )
    ids = Counter(e["law_id"] for e in entries)
    clash = [k for k, v in ids.items() if v > 1]
    if clash:
        raise SystemExit(f"law_id collision: {clash}")
    return entries


def encode_laws(entries: list[dict[str, Any]]) -> bytes:
    """Serialise and xz-compress the law entries deterministically."""
    payload = {"format": FORMAT_VERSION, "laws": entries}
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)


# --------------------------------------------------------------------------- divisions

DIVISION_COLUMNS = ["code", "name", "level", "parent", "valid_from", "valid_to"]
DIVISION_LEVELS = {"province", "city", "county"}


def build_divisions(path: Path, log: list[str]) -> bytes:
    """Read, check and clean the GB/T 2260 division table; return the CSV bytes to write."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or [c.strip() for c in reader.fieldnames] != DIVISION_COLUMNS:
            raise SystemExit(f"{path}: expected columns {DIVISION_COLUMNS}, got {reader.fieldnames}")
        raw_rows = [{k.strip(): (v or "").strip() for k, v in row.items()} for row in reader]

    rows: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for i, row in enumerate(raw_rows, start=2):
        code, name, level, parent = row["code"], row["name"], row["level"], row["parent"]
        if not re.fullmatch(r"44\d{4}", code):
            log.append(f"DIVISION line {i}: bad code {code!r}, dropped")
            continue
        if level not in DIVISION_LEVELS or not name:
            log.append(f"DIVISION line {i}: bad level/name {level!r}/{name!r}, dropped")
            continue
        if parent and not re.fullmatch(r"44\d{4}", parent):
            log.append(f"DIVISION line {i}: bad parent {parent!r}, cleared")
            parent = ""
        vf, vt = row["valid_from"], row["valid_to"]
        for label, value in (("valid_from", vf), ("valid_to", vt)):
            if value and not re.fullmatch(r"\d{4}", value):
                raise SystemExit(f"{path} line {i}: {label} {value!r} is not a year")
        if vf and vt and int(vf) > int(vt):
            log.append(
                f"DIVISION line {i}: {code} {name} valid_from {vf} > valid_to {vt};"
                " valid_from cleared (open start)"
            )
            vf = ""
        key = (code, name, level, parent, vf, vt)
        if key in seen:
            log.append(f"DIVISION line {i}: duplicate row {code} {name}, dropped")
            continue
        seen.add(key)
        rows.append(dict(zip(DIVISION_COLUMNS, key, strict=True)))

    rows.sort(key=lambda r: (r["code"], int(r["valid_from"] or 0), int(r["valid_to"] or 9999), r["name"]))
    codes = {r["code"] for r in rows}
    for r in rows:
        if r["parent"] and r["parent"] not in codes:
            log.append(f"DIVISION {r['code']}: parent {r['parent']} not in the table")
    # overlapping validity of rows sharing a code
    by_code: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_code.setdefault(r["code"], []).append(r)
    for code, group in by_code.items():
        for a, b in itertools.pairwise(group):
            end_a = int(a["valid_to"] or 9999)
            start_b = int(b["valid_from"] or 0)
            if start_b <= end_a:
                log.append(f"DIVISION {code}: rows {a['name']} and {b['name']} overlap in time")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DIVISION_COLUMNS)
    for r in rows:
        writer.writerow([r[c] for c in DIVISION_COLUMNS])
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--laws", type=Path, required=True, help="root of the statute Markdown tree")
    ap.add_argument("--divisions", type=Path, required=True, help="guangdong.csv")
    ap.add_argument("--out", type=Path, required=True, help="output folder (standard/data)")
    ap.add_argument("--quiet", action="store_true", help="do not print the build log")
    args = ap.parse_args(argv)

    log: list[str] = []
    entries = build_laws(args.laws, log)
    laws_blob = encode_laws(entries)
    divisions_blob = build_divisions(args.divisions, log)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "laws.json.xz").write_bytes(laws_blob)
    (args.out / "divisions.csv").write_bytes(divisions_blob)

    if not args.quiet:
        for line in log:
            print(line, file=sys.stderr)
    names = {e["name"] for e in entries}
    n_articles = sum(len(e["articles"]) for e in entries)
    print(
        f"laws.json.xz: {len(laws_blob):,} bytes; {len(names)} instruments, {len(entries)} versions,"
        f" {n_articles:,} articles; divisions.csv: {len(divisions_blob):,} bytes;"
        f" {len(log)} log lines"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
