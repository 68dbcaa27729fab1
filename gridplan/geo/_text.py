"""Turning the bytes of a CSV export into clean text, line by line where it must.

Exports arrive damaged in ways a CSV parser does not forgive: a file saved as "CSV
(Macintosh)" ends its lines with a bare carriage return, two exports in different character
sets are pasted into one (GBK lines in a UTF-8 file or the reverse), a NUL byte sits in a
cell, a second byte-order mark starts in the middle where a file was appended. This module
decodes the whole file at once when it can and line by line when it cannot: a line that is
not in the file's character set (a UTF-8 line in a GBK file, which GBK would misread without
an error, or a GBK line in a UTF-8 file) is rejected with its number and the reason, and
the rest is kept.

What comes out is the text as bytes for pandas: the file's own bytes when they need no
change (the fast path of a clean file), else the cleaned text encoded as UTF-8.
"""

from __future__ import annotations

import codecs
import dataclasses
import re

from gridplan._errors import InputError
from gridplan._messages import N_
from gridplan._messages import Message
from gridplan._messages import define

_R_UNDECODABLE = define(
    "tables.line_undecodable",
    N_(
        "the line is not valid %(encoding)s text (%(reason)s at byte %(byte)d); the file mixes "
        "character sets or is damaged: save it again as UTF-8 CSV"
    ),
)
_R_OTHER_CHARSET = define(
    "tables.line_other_charset",
    N_(
        "the line is in %(other)s while the rest of the file is in %(main)s; the file mixes "
        "character sets: save it again as UTF-8 CSV"
    ),
)
_W_NUL = define(
    "tables.nul_removed",
    N_(
        "%(n)d lines held NUL bytes (\\x00), which were removed from their text (lines "
        "%(lines)s); check these rows in the source system"
    ),
)
_E_ENCODING = define(
    "tables.unknown_encoding",
    N_(
        "%(path)s: unknown encoding %(encoding)r; use utf-8, gb18030 (covers GBK/GB2312) or "
        "another Python codec name"
    ),
)
_E_CHARSET = define(
    "tables.charset",
    N_(
        "%(path)s: cannot tell the character set (not UTF-8, not GBK/GB18030); save the file "
        "as UTF-8 CSV%(fix)s"
    ),
)
#: Command-line advice beside "save it as UTF-8" (the web UI has no encoding field).
ADVICE_ENCODING = define("advice.encoding", N_(", or pass the encoding (--encoding gbk)"))

#: Bytes that text never holds (tab, line breaks, form feed and Ctrl-Z excepted).
_CONTROL = bytes(sorted(set(range(32)) - {9, 10, 11, 12, 13, 26}))
#: Share of control bytes above which a file is binary (random data has about 10 %).
BINARY_SHARE = 0.02
#: A UTF-8 sequence of a CJK character (U+4E00..U+9FFF): where a UTF-8 line hides in GBK.
_UTF8_CJK = re.compile(rb"[\xe4-\xe9][\x80-\xbf][\x80-\xbf]")
#: Characters of Chinese text besides ASCII: CJK punctuation, kana, ideographs, full width.
_CJK_TEXT = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\u2000-\u206f]*")
_UNICODE = ("utf-8", "utf-8-sig", "utf_8", "utf8", "u8")
_SHOWN = 5


@dataclasses.dataclass
class Decoded:
    """A CSV file as bytes pandas reads, and what decoding it found."""

    data: bytes
    encoding: str  # of ``data``
    label: str  # the file's character set, as the summary reports it
    bad_lines: list[tuple[int, str, Message]] = dataclasses.field(default_factory=list)
    warnings: list[Message] = dataclasses.field(default_factory=list)


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file are binary data rather than text.

    A stray NUL in an export does not make it binary; many control bytes do. UTF-16
    without a byte-order mark (every other byte NUL for ASCII text) is text.
    """
    if not head or utf16_without_bom(head) is not None:
        return False
    control = len(head) - len(head.translate(None, _CONTROL))
    return control > max(4, BINARY_SHARE * len(head))


def utf16_without_bom(head: bytes) -> str | None:
    """Return ``"utf-16-le"``/``"utf-16-be"`` if ``head`` is UTF-16 text without a BOM."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 4:
        return None
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.4 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.4 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def decode_csv(path: str, raw: bytes, encoding: str | None) -> Decoded:
    """Decode a CSV file's bytes (``encoding`` given or detected) and clean its text.

    Raises
    ------
    InputError
        If ``encoding`` is not a codec, or no line of the file decodes.
    """
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise InputError(_E_ENCODING(path=path, encoding=encoding)) from exc
    wide = _utf16(raw, encoding)
    if wide is not None:
        return _clean(path, raw, wide, _decode_utf16(raw, wide), fast=False)
    raw = _bare_cr_to_lf(raw, encoding)
    if encoding:
        return _decode_as(path, raw, encoding, None)
    text = _strict(raw, "utf-8-sig")
    if text is not None:
        return _clean(path, raw, "utf-8-sig", (text, []), fast=True)
    text = _strict(raw, "gb18030")
    if text is not None and not _utf8_lines(raw):
        return _clean(path, raw, "gb18030", (text, []), fast=True)
    main, chinese = _main_encoding(raw)
    if text is None and not chinese:
        # neither UTF-8 nor GBK anywhere: Big5, Shift-JIS, a Windows code page, ...
        guess = _guess(raw)
        text = _strict(raw, guess) if guess else None
        if text is not None:
            return _clean(path, raw, guess, (text, []), fast=True)
    return _decode_as(path, raw, main, "utf-8" if main == "gb18030" else "gb18030")


def _bare_cr_to_lf(raw: bytes, encoding: str | None) -> bytes:
    """Line breaks of old-Mac files (a bare CR) as LF, before the lines are decoded one by one.

    Excel's "CSV (Macintosh)" ends lines with CR alone: a file that mixes character sets
    must be split into its lines before it is decoded. The byte 0x0D never occurs inside a
    UTF-8 or GBK/GB18030 character, so this is safe in every character set but UTF-16/32.
    """
    if b"\r" not in raw or raw.count(b"\r") == raw.count(b"\r\n"):
        return raw
    if encoding and "\r".encode(encoding, errors="ignore") != b"\r":
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _utf16(raw: bytes, encoding: str | None) -> str | None:
    if encoding:
        return encoding if encoding.startswith("utf-16") or encoding == "utf_16" else None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return utf16_without_bom(raw[:4096])


def _strict(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:65536]).best()
    return None if best is None else best.encoding


def _decode_utf16(raw: bytes, encoding: str) -> tuple[str, list]:
    """Decode UTF-16; lines with bytes that are not UTF-16 (lone surrogates) are rejected."""
    text = _strict(raw, encoding)
    if text is not None:
        return text, []
    text = raw.decode(encoding, errors="replace")
    lines = text.split("\n")
    bad = []
    for number, line in enumerate(lines, 1):
        if "\ufffd" in line:
            reason = _R_UNDECODABLE(encoding="UTF-16", reason="invalid data", byte=0)
            bad.append((number, line[:80].replace("\ufffd", "?"), reason))
            lines[number - 1] = ""
    return "\n".join(lines), bad


def _utf8_lines(raw: bytes) -> bool:
    """Whether a file that decodes as GB18030 has lines that are Chinese in UTF-8."""
    start = 0
    for match in _UTF8_CJK.finditer(raw):
        if match.start() < start:
            continue
        begin = raw.rfind(b"\n", 0, match.start()) + 1
        end = raw.find(b"\n", match.end())
        end = len(raw) if end < 0 else end
        if _is_utf8_text(raw[begin:end]):
            return True
        start = end
    return False


def _is_utf8_text(line: bytes) -> bool:
    """Whether ``line`` is valid UTF-8 whose non-ASCII characters are all Chinese text."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    rest = "".join(c for c in text if not c.isascii())
    return bool(rest) and _CJK_TEXT.fullmatch(rest) is not None


def _main_encoding(raw: bytes) -> tuple[str, int]:
    """UTF-8 or GB18030, whichever more non-ASCII lines are in, and how many lines are."""
    utf8 = gbk = 0
    for line in raw.split(b"\n"):
        if line.isascii():
            continue
        if _strict(line, "utf-8") is not None:
            utf8 += 1
        elif _strict(line, "gb18030") is not None:
            gbk += 1
    return ("utf-8" if utf8 >= gbk else "gb18030"), utf8 + gbk


def _decode_as(path: str, raw: bytes, main: str, other: str | None) -> Decoded:
    """Decode line by line in ``main``; reject lines in ``other`` or in no character set."""
    if other is None:
        text = _strict(raw, main)
        if text is not None:
            return _clean(path, raw, main, (text, []), fast=True)
    out: list[str] = []
    bad: list[tuple[int, str, Message]] = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        decoded, used = _decode_line(line, main, other)
        if used != main:
            bad.append(_undecodable(number, line, main, used))
            decoded = ""
        out.append(decoded or "")
    if len(bad) == len(out):
        raise InputError(_E_CHARSET(path=path, fix=ADVICE_ENCODING()))
    label = main.replace("utf_8", "utf-8")
    return _clean(path, raw, label, ("\n".join(out), bad), fast=False)


def _decode_line(line: bytes, main: str, other: str | None) -> tuple[str | None, str | None]:
    if other in _UNICODE and line and not line.isascii() and _is_utf8_text(line):
        return line.decode("utf-8"), other
    text = _strict(line, main)
    if text is not None:
        return text, main
    if other is not None:
        text = _strict(line, other)
        if text is not None:
            return text, other
    return None, None


def _undecodable(
    number: int, line: bytes, encoding: str, other: str | None
) -> tuple[int, str, Message]:
    """Return the bad row of a line not in ``encoding`` (but in ``other``, if not None)."""
    if other is not None:
        reason = _R_OTHER_CHARSET(other=other.upper(), main=encoding.upper())
        return number, line[:80].decode(other, errors="replace"), reason
    reason = _R_UNDECODABLE(encoding=encoding.upper(), reason="invalid data", byte=1)
    try:
        line.decode(encoding)
    except UnicodeDecodeError as exc:
        reason = _R_UNDECODABLE(encoding=encoding.upper(), reason=exc.reason, byte=exc.start + 1)
    shown = line[:80].decode(encoding, errors="replace").replace("\ufffd", "?")
    return number, shown, reason


def _clean(
    path: str,
    raw: bytes,
    encoding: str,
    decoded: tuple[str, list[tuple[int, str, Message]]],
    *,
    fast: bool,
) -> Decoded:
    """Normalise line breaks, drop NULs and inner byte-order marks; say what changed."""
    text, bad = decoded
    warnings: list[Message] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        # a bare CR ends a line (Excel's "CSV (Macintosh)"): make every line end in LF
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        fast = False
    if "\x00" in text:
        nul_lines = _lines_of(text, "\x00")
        warnings.append(_W_NUL(n=len(nul_lines), lines=_show_lines(nul_lines)))
        text = text.replace("\x00", "")
        fast = False
    if "\ufeff" in text:
        # a byte-order mark inside the text is where a second export was appended
        text = text.replace("\ufeff", "")
        fast = False
    if fast:
        return Decoded(raw, encoding, _label(encoding), bad, warnings)
    return Decoded(text.encode("utf-8"), "utf-8", _label(encoding), bad, warnings)


def _label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"utf-8": "utf-8-sig" if encoding == "utf-8-sig" else "utf-8"}.get(name, encoding)


def _lines_of(text: str, char: str) -> list[int]:
    """Return the 1-based numbers of the lines holding ``char``."""
    lines = []
    position = text.find(char)
    line, counted = 1, 0
    while position >= 0:
        line += text.count("\n", counted, position)
        counted = position
        lines.append(line)
        end = text.find("\n", position)
        if end < 0:
            break
        position = text.find(char, end)
    return lines


def _show_lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:_SHOWN]))
    return shown + (", ..." if len(lines) > _SHOWN else "")
