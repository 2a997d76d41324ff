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

from gateway.core.markup import escape

_SEQUENCE = re.compile(
    r"\x1b(?:\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"  # CSI ... final
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|[@-Z\\-_])"  # any other two-character escape
)
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

#: ANSI colour numbers 0-7 as markup letters.
_LETTERS = "krgybmcw"
_CUBE = (0, 95, 135, 175, 215, 255)

#: An unfinished escape sequence this long is no escape sequence.
MAX_SEQUENCE = 64


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
    return [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)] if params else [0]


class Colours:
    """
    Translates one game's text, keeping its colour state from line to
    line: the core's markup ends each line's colour, so a colour the game
    set on one line is set again at the start of the next.
    """

    def __init__(self):
        self.colour = ""
        self.bold = False
        self.underline = False

    def _style(self):
        style = ("|h" if self.bold else "") + ("|u" if self.underline else "")
        if self.colour:
            style += "|" + self.colour
        return style

    def translate(self, text):
        """
        @param text: one line (or prompt) of the game's text, decoded.
        @return: the same as markup, without escape sequences or control
            characters (tab is kept).
        @rtype: L{str}
        """
        out = [self._style()]
        position = 0
        for match in _SEQUENCE.finditer(text):
            out.append(_plain(text[position:match.start()]))
            position = match.end()
            if match.group("final") == "m":
                out.append(self._select(match.group("params")))
        out.append(_plain(text[position:]))
        return "".join(out)

    def _select(self, params):
        """
        Apply one SGR sequence.

        @return: the markup that brings the text to the new style.
        """
        before = (self.colour, self.bold, self.underline)
        numbers = _numbers(params)
        i = 0
        while i < len(numbers):
            n = numbers[i]
            i += 1
            if n == 0:
                self.colour, self.bold, self.underline = "", False, False
            elif n == 1:
                self.bold = True
            elif n == 4:
                self.underline = True
            elif n == 22:
                self.bold = False
            elif n == 24:
                self.underline = False
            elif 30 <= n <= 37:
                self.colour = _LETTERS[n - 30]
            elif 90 <= n <= 97:
                self.colour = _LETTERS[n - 90].upper()
            elif n == 39:
                self.colour = ""
            elif n in (38, 48) and i < len(numbers):
                mode = numbers[i]
                if mode == 5 and i + 1 < len(numbers):
                    colour = _palette(min(numbers[i + 1], 255))
                    i += 2
                elif mode == 2 and i + 3 < len(numbers):
                    colour = "#%02x%02x%02x" % tuple(min(v, 255) for v in numbers[i + 1:i + 4])
                    i += 4
                else:
                    break
                if n == 38:
                    self.colour = colour
        if (self.colour, self.bold, self.underline) == before:
            return ""
        return "|n" + self._style()


def _plain(text):
    return escape(_CONTROLS.sub("", text))


def unfinished(text):
    """
    Where an escape sequence at the end of C{text} is cut short (its rest
    comes with the game's next write).

    @return: the index it starts at, or C{len(text)} when there is none.
    """
    start = text.rfind("\x1b", max(0, len(text) - MAX_SEQUENCE))
    if start < 0:
        return len(text)
    match = _SEQUENCE.match(text, start)
    if match is not None:
        return len(text)
    return start
