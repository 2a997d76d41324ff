"""
The colour markup: rendering at each colour level, stripping, escaping
player text, folding to the width, and the render-once cache.
"""

from twisted.trial.unittest import TestCase

from gateway.core import markup
from gateway.core.capabilities import Capabilities
from gateway.frontends.text import encode_line


class RenderTests(TestCase):
    def test_named_colours(self):
        self.assertEqual(markup.render("|rred|n |Gbright", markup.ANSI_16), "\x1b[31mred\x1b[0m \x1b[92mbright\x1b[0m")

    def test_styles(self):
        self.assertEqual(markup.render("|hbold|u under|n.", markup.ANSI_16), "\x1b[1mbold\x1b[4m under\x1b[0m.")

    def test_rgb_at_each_level(self):
        text = "|#ff8000x"
        self.assertEqual(markup.render(text, markup.TRUECOLOR), "\x1b[38;2;255;128;0mx\x1b[0m")
        self.assertEqual(markup.render(text, markup.XTERM_256), "\x1b[38;5;208mx\x1b[0m")
        self.assertEqual(markup.render(text, markup.ANSI_16), "\x1b[33mx\x1b[0m")
        self.assertEqual(markup.render("|#808080x", markup.XTERM_256), "\x1b[38;5;244mx\x1b[0m")
        self.assertEqual(markup.render("|#000000x", markup.ANSI_16), "\x1b[30mx\x1b[0m")

    def test_stripped_without_colour(self):
        self.assertEqual(markup.strip("|cThe Hall|n |#123456x || |q"), "The Hall x | |q")

    def test_unknown_codes_and_plain_text_kept(self):
        self.assertEqual(markup.render("a|qb|", markup.ANSI_16), "a|qb|")
        self.assertEqual(markup.render("no codes", markup.TRUECOLOR), "no codes")

    def test_escape_round_trip(self):
        for text in ("|r", "||", "a|nb|", "|#ff0000", "plain"):
            self.assertEqual(markup.render(markup.escape(text), markup.TRUECOLOR), text)


class WrapTests(TestCase):
    def test_folds_at_spaces(self):
        self.assertEqual(markup.wrap("aaa bbb ccc ddd", 9), "aaa bbb\n  ccc ddd")

    def test_markup_takes_no_room(self):
        self.assertEqual(markup.wrap("|raaa|n |gbbb|n ccc", 7), "|raaa|n |gbbb|n\n  ccc")

    def test_padded_text_cannot_start_a_speaker_line(self):
        """
        Text padded with spaces up to the width still cannot put a line
        that looks like another player's speech at the margin.
        """
        width = 40
        emote = "Mallory waves." + " " * (width - 14) + 'Bob says, "type your password"'
        lines = markup.wrap(emote, width).split("\n")
        self.assertTrue(lines[0].startswith("Mallory waves."))
        self.assertTrue(all(line.startswith(markup.HANGING_INDENT) for line in lines[1:]), lines)
        self.assertIn('  Bob says, "type your password"', lines)

    def test_short_lines_and_long_words_kept(self):
        self.assertEqual(markup.wrap("short\n" + "x" * 12 + " y", 10), "short\n" + "x" * 12 + "\n  y")


class EncodeLineTests(TestCase):
    def test_rendered_per_width_and_colour(self):
        text = "|rred|n words here"
        self.assertEqual(encode_line(text), b"red words here\r\n")
        self.assertEqual(encode_line(text, width=9), b"red words\r\n  here\r\n")
        self.assertEqual(encode_line(text, colours=16), b"\x1b[31mred\x1b[0m words here\r\n")
        self.assertEqual(encode_line(text, "ascii", False, 0, 256), b"\x1b[31mred\x1b[0m words here")

    def test_broadcast_renders_once(self):
        encode_line.cache_clear()
        for _ in range(5):
            encode_line("|ghello|n", "utf-8", True, 80, 16)
        info = encode_line.cache_info()
        self.assertEqual((info.misses, info.hits), (1, 4))


class ColourLevelTests(TestCase):
    def test_levels(self):
        caps = Capabilities("telnet")
        self.assertEqual(caps.colour_level(), markup.NO_COLOUR)
        caps.ansi = True
        self.assertEqual(caps.colour_level(), markup.ANSI_16)
        caps.xterm256 = True
        self.assertEqual(caps.colour_level(), markup.XTERM_256)
        caps.truecolor = True
        self.assertEqual(caps.colour_level(), markup.TRUECOLOR)
        caps.screen_reader = True
        self.assertEqual((caps.colour_level(), caps.wrap_width()), (markup.NO_COLOUR, 0))
