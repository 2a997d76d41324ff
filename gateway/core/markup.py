"""
Colour markup in the core's text, and rendering it for a client.

The core writes colour and emphasis as codes of a pipe and one character;
frontends render them with L{render} as ANSI for the colours the client
takes, or strip them.  Command handlers never write escape sequences.

    |r |g |y |b |m |c |w |k   red, green, yellow, blue, magenta, cyan,
                              white, black (upper case: the bright ones)
    |h                        bold
    |u                        underline
    |n                        back to normal
    |#rrggbb                  a 24-bit colour, brought down to the nearest
                              256- or 16-colour one when needed
    ||                        a literal |

A pipe followed by anything else is kept as it is.  Text a player typed is
passed through L{escape} before the core embeds it, so players cannot
colour (or break) other players' screens.
"""

import re

#: Colour levels a client can take (see L{gateway.core.capabilities.Capabilities.colour_level}).
NO_COLOUR, ANSI_16, XTERM_256, TRUECOLOR = 0, 16, 256, 1 << 24

_CODE = re.compile(r"\|(#[0-9a-fA-F]{6}|[rgybmcwkRGYBMCWKhun|])")
_NAMED = "krgybmcw"
_STYLES = {"h": "1", "u": "4", "n": "0"}

# The xterm palette of the 16 basic colours, for bringing 24-bit ones down.
_BASIC_RGB = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
    (255, 255, 255),
]
_CUBE = (0, 95, 135, 175, 215, 255)


def escape(text):
    """
    Make text shown literally, whatever pipes it contains.

    @type text: L{str}
    @rtype: L{str}
    """
    # The test first: C{replace} scans slower than C{in} when nothing
    # is to be replaced, which is most text.
    return text.replace("|", "||") if "|" in text else text


def strip(text):
    """
    The text without its markup, as a client without colour sees it.
    """
    return render(text, NO_COLOUR)


def visible_length(text):
    """
    How many characters of C{text} the player sees.
    """
    return len(strip(text))


def render(text, level):
    """
    Turn markup into ANSI escape sequences for a client taking C{level}
    colours, or remove it for L{NO_COLOUR}.  Text that changed the style
    ends with a reset so it cannot bleed into what follows.

    @param level: L{NO_COLOUR}, L{ANSI_16}, L{XTERM_256} or L{TRUECOLOR}.
    @rtype: L{str}
    """
    if "|" not in text:
        return text
    parts = _CODE.split(text)
    out = [parts[0]]
    styled = False
    for code, plain in zip(parts[1::2], parts[2::2]):
        if code == "|":
            out.append("|")
        elif level:
            sgr = _sgr(code, level)
            out.append(f"\x1b[{sgr}m")
            styled = sgr != "0"
        out.append(plain)
    if styled:
        out.append("\x1b[0m")
    return "".join(out)


def _sgr(code, level):
    if code in _STYLES:
        return _STYLES[code]
    if code[0] == "#":
        rgb = tuple(int(code[i:i + 2], 16) for i in (1, 3, 5))
        if level >= TRUECOLOR:
            return "38;2;{};{};{}".format(*rgb)
        if level >= XTERM_256:
            return f"38;5;{_nearest_256(rgb)}"
        index = _nearest(rgb, range(16), lambda i: _BASIC_RGB[i])
        return str(30 + index if index < 8 else 82 + index)
    index = _NAMED.index(code.lower())
    return str(90 + index if code.isupper() else 30 + index)


def _nearest(rgb, candidates, colour_of):
    return min(candidates, key=lambda c: sum((a - b) ** 2 for a, b in zip(rgb, colour_of(c))))


def _nearest_256(rgb):
    """
    The xterm-256 index closest to C{rgb}: from the 6x6x6 cube or the grey
    ramp.
    """
    cube = [min(range(6), key=lambda i: abs(_CUBE[i] - c)) for c in rgb]
    cube_rgb = tuple(_CUBE[i] for i in cube)
    grey = min(23, max(0, (sum(rgb) // 3 - 8) // 10))
    grey_rgb = (8 + 10 * grey,) * 3
    distance = lambda other: sum((a - b) ** 2 for a, b in zip(rgb, other))  # noqa: E731
    if distance(grey_rgb) < distance(cube_rgb):
        return 232 + grey
    return 16 + 36 * cube[0] + 6 * cube[1] + cube[2]


HANGING_INDENT = "  "
"""
What starts each continuation line of a folded line, so that no text a
player pads to the width can start a line looking like another speaker's
(C{bob says, ...}): only the first line of a message starts at the margin.
"""


def wrap(text, width):
    """
    Fold the lines of C{text} longer than C{width} visible characters at
    spaces, continuation lines indented by L{HANGING_INDENT}.  Markup takes
    no room; a word longer than the width gets a line of its own rather
    than being cut.

    @rtype: L{str}
    """
    split = text.split("\n")
    if max(map(len, split)) <= width:
        return text
    lines = []
    for line in split:
        if len(line) <= width or visible_length(line) <= width:
            lines.append(line)
            continue
        folded, current, used = [], [], 0
        for word in line.split(" "):
            size = visible_length(word)
            if current and used + 1 + size > width:
                folded.append(" ".join(current))
                current, used = [], len(HANGING_INDENT)
            used += size + (1 if current else 0)
            current.append(word)
        folded.append(" ".join(current))
        lines.append(folded[0])
        lines.extend(HANGING_INDENT + piece for piece in folded[1:])
    return "\n".join(lines)
