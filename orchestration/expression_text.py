"""A small tokeniser for CEL text: enough to check caps and find data paths.

The CEL library exposes no syntax tree, so the static checks in
orchestration/expressions.py (bracket depth, nested list macros, referenced paths)
work on these tokens. Strings are recognised so brackets inside them do not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[uU]?")
_STRING_PREFIX = re.compile(r"(?:[rR][bB]?|[bB][rR]?)?(?:'''|\"\"\"|'|\")")
_OPERATORS = ("&&", "||", "==", "!=", "<=", ">=")


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "number", "string" or "op"
    text: str
    start: int
    value: str = ""  # the decoded text of a string literal


class TokenError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


def tokens(text: str, *, strict: bool = True) -> list[Token]:
    """Tokens of `text`; on an unterminated string raise (strict) or stop there."""
    found: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        string = _STRING_PREFIX.match(text, i)
        if string:
            token = _string(text, i, string.end(), string[0])
            if token is None:
                if strict:
                    raise TokenError("A text value in quotes is never closed.", i)
                return found
            found.append(token)
            i = token.start + len(token.text)
            continue
        for pattern, kind in ((_NAME, "name"), (_NUMBER, "number")):
            match = pattern.match(text, i)
            if match:
                found.append(Token(kind, match[0], i))
                i = match.end()
                break
        else:
            two = text[i : i + 2]
            width = 2 if two in _OPERATORS else 1
            found.append(Token("op", text[i : i + width], i))
            i += width
    return found


def _string(text: str, start: int, body: int, prefix: str) -> Token | None:
    quote = prefix.lstrip("rRbB")
    raw = "r" in prefix.lower().rstrip("'\"")
    i = body
    chars = []
    while i < len(text):
        if text.startswith(quote, i):
            end = i + len(quote)
            return Token("string", text[start:end], start, "".join(chars))
        if text[i] == "\\" and not raw and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if text[i] == "\n" and len(quote) == 1:
            return None
        chars.append(text[i])
        i += 1
    return None
