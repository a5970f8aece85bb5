"""What a field of an input file may hold: the platform's codes, free text, and their lengths.

One table of rules for every importer, the settlement row path and its bulk path alike:

- a **code** (setl_id, mdtrt_id, psn_no, institution codes, the platform's code lists) is the
  national platform's identifier: printable ASCII without spaces (U+0021..U+007E). Nothing is
  normalised: a zero-width space, a full-width letter or a control character is refused, and
  the message names the character and its position, so that the same settlement can never come
  in twice under two spellings of its setl_id;
- **text** (names, the ID number) is kept exactly as the file has it, blanks included, but for
  NUL (U+0000), which PostgreSQL cannot store (and SQLite's C API would cut the text at it);
- every code and text has a maximum length, the platform's where it defines one, so that both
  databases take exactly the same rows (a register's column is never narrower than the rule).

Lengths are those of the national medical security platform's interface specification for
transaction 2207 (门诊结算, output ``setlinfo``: setl_id, mdtrt_id, psn_no 30; psn_name,
certno 50; insutype, psn_type, med_type, clr_type, clr_way, clr_optins 6) and of the
institution code (fixmedins_code 30, fixmedins_name 200), as the platform's 接口规范 lists them.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

#: The characters of a platform code: printable ASCII, no space.
CODE_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))
CODE_EXPECTED = "printable ASCII letters, digits and signs, no spaces (the platform's code)"
NUL = "\x00"


class FieldProblem(NamedTuple):
    """What is wrong with a value: (message, found, expected), as a Problem carries them."""

    message: str
    found: str
    expected: str


def shown(value: str, limit: int = 60) -> str:
    """A value as a message shows it: characters that do not print are escaped (\\u200b),
    long values are cut."""
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def character_name(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: which character, unmistakably."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'a control character')}"


def code_problem(value: str, length: int) -> FieldProblem | None:
    """Why ``value`` is not a platform code of at most ``length`` characters; None if it is."""
    # the usual case at C speed: printable ASCII without a space is exactly CODE_CHARACTERS
    if value.isascii() and value.isprintable() and " " not in value:
        return _length_problem(value, length)
    for position, char in enumerate(value, start=1):
        if char not in CODE_CHARACTERS:
            return FieldProblem(
                f"not a platform code: {character_name(char)} at position {position}",
                shown(value),
                CODE_EXPECTED,
            )
    return _length_problem(value, length)


def text_problem(value: str, length: int | None) -> FieldProblem | None:
    """Why ``value`` cannot be kept as text (at most ``length`` characters); None if it can."""
    position = value.find(NUL)
    if position >= 0:
        return FieldProblem(
            f"{character_name(NUL)} at position {position + 1}: the register cannot store it",
            shown(value),
            "text without NUL characters",
        )
    return None if length is None else _length_problem(value, length)


def _length_problem(value: str, length: int) -> FieldProblem | None:
    if len(value) <= length:
        return None
    return FieldProblem(
        f"longer than the platform's {length} characters",
        f"{len(value)} characters: {shown(value)}",
        f"at most {length}",
    )


__all__ = [
    "CODE_CHARACTERS",
    "FieldProblem",
    "character_name",
    "code_problem",
    "shown",
    "text_problem",
]
