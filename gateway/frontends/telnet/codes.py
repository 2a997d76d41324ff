"""
The telnet option codes this frontend negotiates, as single bytes.
"""

from twisted.conch import telnet

IAC, SB, SE = telnet.IAC, telnet.SB, telnet.SE
WILL, WONT, DO, DONT = telnet.WILL, telnet.WONT, telnet.DO, telnet.DONT
GA, NOP = telnet.GA, telnet.NOP
#: The END-OF-RECORD command (RFC 885), sent after a prompt.
EOR_MARK = telnet.EOR
#: The commands after IAC that take no option (RFC 854, and EOR): NOP, DM,
#: BRK, IP, AO, AYT, EC, EL, GA and END-OF-RECORD.
COMMANDS = frozenset(
    [telnet.NOP, telnet.DM, telnet.BRK, telnet.IP, telnet.AO, telnet.AYT, telnet.EC, telnet.EL, telnet.GA, EOR_MARK]
)

ECHO = b"\x01"  # RFC 857
SGA = b"\x03"  # RFC 858, suppress go-ahead
TTYPE = b"\x18"  # RFC 1091, terminal type (with MTTS)
EOR = b"\x19"  # RFC 885, end of record
NAWS = b"\x1f"  # RFC 1073, window size
NEW_ENVIRON = b"\x27"  # RFC 1572 (with MNES)
CHARSET = b"\x2a"  # RFC 2066
MSDP = b"\x45"  # MUD Server Data Protocol
MSSP = b"\x46"  # MUD Server Status Protocol
MCCP2 = b"\x56"  # MUD Client Compression Protocol v2
GMCP = b"\xc9"  # Generic MUD Communication Protocol

NAMES = {
    ECHO: "ECHO", SGA: "SGA", TTYPE: "TTYPE", EOR: "EOR", NAWS: "NAWS", NEW_ENVIRON: "NEW-ENVIRON",
    CHARSET: "CHARSET", MSDP: "MSDP", MSSP: "MSSP", MCCP2: "MCCP2", GMCP: "GMCP",
}
