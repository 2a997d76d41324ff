"""
A line editor for SSH terminals, on L{twisted.conch.insults}: what the
player types is edited locally on the server (backspace, arrows, history,
Ctrl-C, Ctrl-D), hidden for passwords, and kept intact below output that
arrives while they type.

Modelled on L{twisted.conch.recvline.HistoricRecvLine}, but the line is
text rather than bytes (so UTF-8 input edits by character).  Characters
typed at the end of the line are sent as they are; every other edit
redraws the line whole, which keeps wrapped lines and interleaved output
correct.
"""

import codecs

from twisted.conch.insults.insults import ServerProtocol, TerminalProtocol

_CTRL_A, _CTRL_C, _CTRL_D, _CTRL_E, _CTRL_U = b"\x01", b"\x03", b"\x04", b"\x05", b"\x15"
_ERASE_BELOW = b"\x1b[J"


class LineEditor(TerminalProtocol):
    """
    Edits one input line at a time below the output.

    @ivar width: the terminal's columns.
    @ivar prompt: the text shown before the input.
    @ivar buffer: the characters of the input line.
    @ivar index: the cursor's place in L{buffer}.
    @ivar hidden: whether input is hidden (passwords): nothing typed is
        shown and the line is not kept in the history.
    @ivar history: earlier lines, oldest first, at most L{MAX_HISTORY}.
    """

    MAX_HISTORY = 100

    def __init__(self, line_received, end_of_input, max_chars):
        """
        @param line_received: called with each finished line (L{str}).
        @param end_of_input: called on Ctrl-D at an empty line.
        @param max_chars: returns the longest line the player may type
            (the live limit: a reload changes it for open sessions too).
        """
        self._line_received = line_received
        self._end_of_input = end_of_input
        self.max_chars = max_chars
        self.width = 80
        self.prompt = ""
        self.buffer = []
        self.index = 0
        self.hidden = False
        self.history = []
        self._history_position = 0
        self._draft = []
        self._row = 0
        self._after_cr = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def connectionMade(self):
        t = ServerProtocol
        self._keys = {
            b"\r": self._enter, b"\n": self._enter,
            b"\x7f": self._backspace, b"\x08": self._backspace,
            t.DELETE: self._delete, t.LEFT_ARROW: self._left, t.RIGHT_ARROW: self._right,
            t.HOME: self._home, t.END: self._end, _CTRL_A: self._home, _CTRL_E: self._end,
            t.UP_ARROW: self._older, t.DOWN_ARROW: self._newer,
            _CTRL_C: self._interrupt, _CTRL_D: self._ctrl_d, _CTRL_U: self._clear,
        }

    # Input

    def keystrokeReceived(self, keyID, modifier):
        after_cr, self._after_cr = self._after_cr, keyID == b"\r"
        if keyID == b"\n" and after_cr:
            return
        handler = self._keys.get(keyID)
        if handler is not None:
            handler()
        elif isinstance(keyID, bytes) and keyID >= b" ":
            self._insert(self._decoder.decode(keyID))

    def _insert(self, text):
        text = "".join(c for c in text if c.isprintable())
        if not text:
            return
        if len(self.buffer) + len(text) > self.max_chars():
            self._write(b"\a")
            return
        at_end = self.index == len(self.buffer)
        self.buffer[self.index:self.index] = text
        self.index += len(text)
        if at_end and not self.hidden:
            # The terminal's cursor is at the end of the line: writing the
            # new characters leaves the screen as a redraw would.
            self._row = self._rows(len(self.prompt) + len(self.buffer))
            self._write(text.encode("utf-8", "replace"))
        else:
            self._edited()

    def _enter(self):
        line = "".join(self.buffer)
        if line and not self.hidden:
            if not self.history or self.history[-1] != line:
                self.history.append(line)
                del self.history[:-self.MAX_HISTORY]
        self._history_position = len(self.history)
        self.index = len(self.buffer)
        self._redraw()
        self._write(b"\r\n")
        self.prompt, self.buffer, self.index, self._row = "", [], 0, 0
        self._line_received(line)

    def _backspace(self):
        if self.index > 0:
            self.index -= 1
            del self.buffer[self.index]
            self._edited()

    def _delete(self):
        if self.index < len(self.buffer):
            del self.buffer[self.index]
            self._edited()

    def _left(self):
        if self.index > 0:
            self.index -= 1
            self._edited()

    def _right(self):
        if self.index < len(self.buffer):
            self.index += 1
            self._edited()

    def _home(self):
        self.index = 0
        self._edited()

    def _end(self):
        self.index = len(self.buffer)
        self._edited()

    def _older(self):
        if self.hidden or self._history_position == 0:
            return
        if self._history_position == len(self.history):
            self._draft = self.buffer
        self._history_position -= 1
        self._recall(list(self.history[self._history_position]))

    def _newer(self):
        if self.hidden or self._history_position >= len(self.history):
            return
        self._history_position += 1
        if self._history_position == len(self.history):
            self._recall(self._draft)
        else:
            self._recall(list(self.history[self._history_position]))

    def _recall(self, characters):
        self.buffer = characters
        self.index = len(characters)
        self._redraw()

    def _clear(self):
        self.buffer, self.index = [], 0
        self._history_position = len(self.history)
        self._redraw()

    def _interrupt(self):
        """
        Ctrl-C: abandon the line, leaving it visible with C{^C}, and start
        an empty one under the same prompt.
        """
        self.index = len(self.buffer)
        self._redraw()
        self._write(b"^C\r\n")
        self._row = 0
        self.buffer, self.index = [], 0
        self._history_position = len(self.history)
        self._redraw()

    def _ctrl_d(self):
        if self.buffer:
            self._delete()
        else:
            self._end_of_input()

    # Output

    def show(self, data):
        """
        Show lines of output above the input line, then redraw the prompt
        and the input under them.

        @param data: the output, encoded for the terminal and ending in a
            line break (see L{gateway.frontends.text.encode_line}).
        @type data: L{bytes}
        """
        self._write(self._erase() + data + self._draw())

    def set_prompt(self, text):
        """
        Show C{text} (plain text, no markup) as the prompt of the line being
        typed.
        """
        self.prompt = text
        self._redraw()

    def set_hidden(self, hidden):
        """
        Hide (C{True}) or show what the player types.
        """
        if hidden != self.hidden:
            self.hidden = hidden
            self._redraw()

    def _visible(self):
        return "" if self.hidden else "".join(self.buffer)

    def _rows(self, position):
        """
        The row (from the input's first) the cursor is on after writing
        C{position} characters; a terminal leaves the cursor in the last
        column, not on the next row, after filling a row exactly.
        """
        return max(position - 1, 0) // self.width

    def _erase(self):
        """
        Bytes that move to the start of the input and erase it.
        """
        up = f"\x1b[{self._row}A" if self._row else ""
        self._row = 0
        return up.encode("ascii") + b"\r" + _ERASE_BELOW

    def _draw(self):
        """
        Bytes that write the prompt and input from the cursor (at the start
        of a row) and put the cursor at L{index}.
        """
        visible = self._visible()
        end = len(self.prompt) + len(visible)
        cursor = len(self.prompt) + (self.index if not self.hidden else 0)
        out = (self.prompt + visible).encode("utf-8", "replace")
        self._row = self._rows(end)
        if cursor < end:
            row, column = divmod(cursor, self.width)
            if self._row > row:
                out += f"\x1b[{self._row - row}A".encode("ascii")
            out += b"\r" + (f"\x1b[{column}C".encode("ascii") if column else b"")
            self._row = row
        return out

    def _write(self, data):
        # Straight to the channel: the terminal's own write() would turn
        # the CR LF that encode_line produces into CR CR LF.
        self.terminal.transport.write(data)

    def _redraw(self):
        self._write(self._erase() + self._draw())

    def _edited(self):
        """
        Show an edit; hidden input shows nothing, so nothing is sent.
        """
        if not self.hidden:
            self._redraw()
