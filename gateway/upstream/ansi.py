"""
A game's ANSI colours as the core's colour markup (L{gateway.core.markup}).

Games colour their text with ANSI SGR escape sequences.  The gateway turns
them into markup, so each frontend renders them for its client as it does
the built-in world's colours (ANSI for a terminal, styled text in the
browser, nothing for a client without colour) and no other escape
sequence from the game reaches a player: cursor movement, screen clearing
and terminal title changes are dropped.  Foreground colours (the 16 named
ones, the 256-colour palette and 24-bit colours), bold and underline are
kept; background colours are dropped.
"""

import re
from functools import lru_cache

from gateway.core.markup import escape

_SEQUENCE = re.compile(
    r"\x1b(?:\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"  # CSI ... final
    r"|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, DCS, SOS, PM, APC ... BEL or ST
    r"|[ -/]+[0-~]"  # intermediates and a final: ESC ( B
    r"|[0-OQ-WYZ\\`-~])"  # any other two-character escape: ESC 7, ESC M
)
#: Control characters dropped from the game's text: all but tab and the
#: line feed that separates lines.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: The ASCII ones as bytes for L{bytes.translate}: on ASCII text, encoding,
#: deleting them and decoding is quicker than the expression (slower on
#: the rest).
_DROPPED_ASCII = bytes(c for c in range(0x80) if _CONTROLS.match(chr(c)))

#: ANSI colour numbers 0-7 as markup letters.
_LETTERS = "krgybmcw"
_SEPARATOR = re.compile("[;:]")
_CUBE = (0, 95, 135, 175, 215, 255)

#: An unfinished escape sequence this long is no escape sequence.
MAX_SEQUENCE = 64

#: The style before and after an SGR sequence with parameters up to this
#: long is remembered, for the few sequences a game repeats.
MAX_CACHED_PARAMS = 32

#: The style of text with no SGR sequence before it: default colour, not
#: bold, not underlined.
PLAIN = ("", False, False)


def _palette(n):
    """
    Colour C{n} of the xterm 256-colour palette as markup.
    """
    if n < 8:
        return _LETTERS[n]
    if n < 16:
        return _LETTERS[n - 8].upper()
    if n < 232:
        n -= 16
        rgb = (_CUBE[n // 36], _CUBE[n // 6 % 6], _CUBE[n % 6])
    else:
        level = 8 + 10 * (n - 232)
        rgb = (level, level, level)
    return "#%02x%02x%02x" % rgb


def _numbers(params):
    return [int(p) if p.isdigit() else 0 for p in _SEPARATOR.split(params)] if params else [0]


def _apply(state, params):
    """
    Apply one SGR sequence to a style.

    @param state: the style before, as L{Colours.state}.
    @param params: the sequence's parameters.
    @return: the style after.
    """
    colour, bold, underline = state
    numbers = _numbers(params)
    i = 0
    while i < len(numbers):
        n = numbers[i]
        i += 1
        if n == 0:
            colour, bold, underline = PLAIN
        elif n == 1:
            bold = True
        elif n == 4:
            underline = True
        elif n == 22:
            bold = False
        elif n == 24:
            underline = False
        elif 30 <= n <= 37:
            colour = _LETTERS[n - 30]
        elif 90 <= n <= 97:
            colour = _LETTERS[n - 90].upper()
        elif n == 39:
            colour = ""
        elif n in (38, 48) and i < len(numbers):
            mode = numbers[i]
            if mode == 5 and i + 1 < len(numbers):
                chosen = _palette(min(numbers[i + 1], 255))
                i += 2
            elif mode == 2 and i + 3 < len(numbers):
                chosen = "#%02x%02x%02x" % tuple(min(v, 255) for v in numbers[i + 1:i + 4])
                i += 4
            else:
                break
            if n == 38:
                colour = chosen
    return (colour, bold, underline)


_apply_cached = lru_cache(maxsize=256)(_apply)


def _select(state, params):
    """
    L{_apply}, remembered for the short sequences games repeat on every
    line.
    """
    if len(params) > MAX_CACHED_PARAMS:
        return _apply(state, params)
    return _apply_cached(state, params)


@lru_cache(maxsize=256)
def _style(state):
    """
    The markup that starts text in the style C{state} (as L{Colours.state}).
    """
    colour, bold, underline = state
    style = ("|h" if bold else "") + ("|u" if underline else "")
    if colour:
        style += "|" + colour
    return style


class Colours:
    """
    Translates one game's text, keeping its colour state from line to
    line: the core's markup ends each line's colour, so a colour the game
    set on one line is set again at the start of the next.

    @ivar state: the current style, C{(colour, bold, underline)}: the
        colour as markup without its pipe (C{""} for the default), the
        others L{bool}.
    """

    def __init__(self):
        self.state = PLAIN

    def translate(self, text):
        """
        @param text: one or more lines (or a prompt) of the game's text,
            decoded, separated by line feeds.
        @return: the same as markup, each line starting in the colour the
            game had set before it, without escape sequences or control
            characters (tab and line feed are kept).
        @rtype: L{str}
        """
        if "\x1b" not in text:
            return self._restyled(_plain(text))
        return "\n".join(self._line(line) for line in text.split("\n"))

    def _restyled(self, plain):
        """
        Text without escape sequences, each of its lines started in the
        current style.
        """
        style = _style(self.state)
        if not style:
            return plain
        return style + plain.replace("\n", "\n" + style)

    def _line(self, text):
        """
        Translate one line.
        """
        if "\x1b" not in text:
            return _style(self.state) + _plain(text)
        out = [_style(self.state)]
        position = 0
        for match in _SEQUENCE.finditer(text):
            out.append(_plain(text[position:match.start()]))
            position = match.end()
            if match.group("final") == "m":
                state = _select(self.state, match.group("params"))
                if state != self.state:
                    self.state = state
                    out.append("|n" + _style(state))
        out.append(_plain(text[position:]))
        return "".join(out)


def _plain(text):
    if text.isascii():
        return escape(text.encode("ascii").translate(None, _DROPPED_ASCII).decode("ascii"))
    return escape(_CONTROLS.sub("", text))


def unfinished(text):
    """
    Where an escape sequence at the end of C{text} is cut short (its rest
    comes with the game's next write).

    @return: the index it starts at, or C{len(text)} when there is none.
    """
    start = text.find("\x1b", max(0, len(text) - MAX_SEQUENCE))
    while start >= 0:
        match = _SEQUENCE.match(text, start)
        if match is None:
            return start
        start = text.find("\x1b", match.end())
    return len(text)
