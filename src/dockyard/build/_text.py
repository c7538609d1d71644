"""Go's notions of text that BuildKit's behaviour rests on: white space, quoting."""

from __future__ import annotations

__all__ = ["GO_SPACE_CHARS", "go_isspace", "go_quote", "go_quote_list"]

# unicode.IsSpace: Python's str.isspace also accepts U+001C..U+001F, Go does not.
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
GO_SPACE_CHARS = "".join(sorted(_GO_SPACE))

_SHORT_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
    "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"',
}


def go_isspace(ch: str) -> bool:
    """Report whether one character is white space by Go's ``unicode.IsSpace``."""
    return ch in _GO_SPACE


def go_quote(text: str) -> str:
    """Quote ``text`` like Go's ``strconv.Quote``.

    Lone surrogates (undecodable bytes read with ``surrogateescape``) come out as
    ``\\xNN`` the way Go prints invalid UTF-8.
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        elif ch == " " or (ch.isprintable() and code != 0xFEFF):
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def go_quote_list(items: list[str] | tuple[str, ...]) -> str:
    """Format a string list like Go's ``fmt.Sprintf("%q", items)``."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"
