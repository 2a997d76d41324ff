"""
The SSH line editor over an insults terminal on a StringTransport.
"""

from twisted.conch.insults.insults import ServerProtocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from gateway.frontends.ssh.editor import LineEditor

LEFT, RIGHT, UP, DOWN, HOME, END, DELETE = b"\x1b[D", b"\x1b[C", b"\x1b[A", b"\x1b[B", b"\x1b[H", b"\x1b[F", b"\x1b[3~"


class LineEditorTests(TestCase):
    max_chars = 20

    def setUp(self):
        self.lines = []
        self.ended = []
        self.wire = StringTransport()
        self.terminal = ServerProtocol(LineEditor, self.lines.append, lambda: self.ended.append(True), lambda: self.max_chars)
        self.terminal.makeConnection(self.wire)
        self.editor = self.terminal.terminalProtocol
        self.wire.clear()

    def type(self, data):
        self.terminal.dataReceived(data)

    def test_typing_and_return(self):
        self.type(b"say hi\r")
        self.assertEqual(self.lines, ["say hi"])
        self.assertIn(b"say hi", self.wire.value())
        self.assertTrue(self.wire.value().endswith(b"\r\n"))

    def test_cr_lf_is_one_line_end(self):
        self.type(b"a\r\nb\n")
        self.assertEqual(self.lines, ["a", "b"])

    def test_backspace_and_arrows_edit_in_place(self):
        self.type(b"helo" + LEFT + b"l" + END + b"!" + HOME + DELETE + b"H\x7f\x08j" + RIGHT + b"\r")
        self.assertEqual(self.lines, ["jello!"])

    def test_history_up_and_down(self):
        self.type(b"first\rsecond\rdraft" + UP + UP + b"\r")
        self.assertEqual(self.lines, ["first", "second", "first"])
        # The history is now first, second, first.
        self.type(UP + UP + UP + DOWN + b"\r")
        self.assertEqual(self.lines[-1], "second")
        self.type(b"draft" + UP + DOWN + b"\r")
        self.assertEqual(self.lines[-1], "draft")

    def test_ctrl_c_clears_the_line(self):
        self.type(b"oops\x03")
        self.assertIn(b"^C\r\n", self.wire.value())
        self.type(b"ok\r")
        self.assertEqual(self.lines, ["ok"])

    def test_ctrl_d_on_empty_line_ends_input(self):
        self.type(b"ab" + HOME + b"\x04")
        self.assertEqual(self.ended, [])
        self.type(b"\r")
        self.assertEqual(self.lines, ["b"])
        self.type(b"\x04")
        self.assertEqual(self.ended, [True])

    def test_hidden_input_is_not_shown_or_remembered(self):
        self.editor.set_prompt("Password: ")
        self.editor.set_hidden(True)
        self.wire.clear()
        self.type(b"s3cret\x7fT\r")
        self.assertEqual(self.lines, ["s3creT"])
        self.assertNotIn(b"s3cre", self.wire.value())
        self.editor.set_hidden(False)
        self.type(UP + b"\r")
        self.assertEqual(self.lines, ["s3creT", ""])

    def test_output_while_typing_redraws_the_input_below(self):
        self.editor.set_prompt("> ")
        self.type(b"half")
        self.wire.clear()
        self.editor.show(b'Bob says, "hi"\r\n')
        out = self.wire.value()
        self.assertTrue(out.startswith(b"\r\x1b[J"), out)
        self.assertTrue(out.endswith(b'Bob says, "hi"\r\n> half'), out)
        self.type(b"way\r")
        self.assertEqual(self.lines, ["halfway"])

    def test_wrapped_input_is_erased_from_its_first_row(self):
        self.editor.width = 10
        self.type(b"0123456789abcde")
        self.wire.clear()
        self.editor.show(b"news\r\n")
        # The cursor is on the input's second row: one row up, then erase.
        self.assertTrue(self.wire.value().startswith(b"\x1b[1A\r\x1b[J"), self.wire.value())

    def test_cursor_moves_back_across_rows(self):
        self.editor.width = 10
        self.type(b"0123456789abcde" + HOME)
        self.assertTrue(self.wire.value().endswith(b"\x1b[1A\r"), self.wire.value())

    def test_utf8_is_edited_by_character(self):
        self.type("café".encode("utf-8") + b"\x7f\xc3\xa8\r")
        self.assertEqual(self.lines, ["cafè"])

    def test_typing_at_the_end_sends_only_the_new_characters(self):
        terminal = ServerProtocol(LineEditor, self.lines.append, lambda: None, lambda: 4000)
        wire = StringTransport()
        terminal.makeConnection(wire)
        terminal.terminalProtocol.set_prompt("> ")
        wire.clear()
        for n in range(2000):
            terminal.dataReceived(b"abcdefghij"[n % 10:n % 10 + 1])
        self.assertEqual(wire.value(), b"abcdefghij" * 200)
        terminal.dataReceived("é".encode("utf-8"))
        self.assertEqual(wire.value()[-2:], "é".encode("utf-8"))
        terminal.dataReceived(b"\r")
        self.assertEqual(self.lines, ["abcdefghij" * 200 + "é"])

    def test_typing_after_a_wrap_keeps_the_row_count(self):
        self.editor.width = 10
        self.editor.set_prompt("> ")
        for c in b"0123456789abc":
            self.type(bytes((c,)))
        self.wire.clear()
        self.editor.show(b"news\r\n")
        # Fifteen columns: the cursor is on the second row.
        self.assertTrue(self.wire.value().startswith(b"\x1b[1A\r\x1b[J"), self.wire.value())
        self.assertTrue(self.wire.value().endswith(b"news\r\n> 0123456789abc"), self.wire.value())

    def test_typing_inside_the_line_redraws_it(self):
        self.type(b"helo" + LEFT)
        self.wire.clear()
        self.type(b"l")
        self.assertEqual(self.wire.value(), b"\r\x1b[Jhello\r\x1b[4C")

    def test_line_length_is_bounded(self):
        self.type(b"x" * 25 + b"\r")
        self.assertEqual(self.lines, ["x" * 20])
        self.assertIn(b"\a", self.wire.value())

    def test_line_length_follows_the_live_limit(self):
        """
        A reload that changes C{limits.max_line_bytes} applies to a line
        being typed in an open session.
        """
        self.max_chars = 5
        self.type(b"x" * 8 + b"\r")
        self.assertEqual(self.lines, ["x" * 5])

    def test_control_bytes_are_not_inserted(self):
        self.type(b"a\x1b[31mb\x07\r")
        self.assertNotIn("\x1b", self.lines[0])
        self.assertTrue(self.lines[0].startswith("a"))
