"""
Client certificates that log an account in: C{cert add}, C{cert list},
C{cert remove <fingerprint>}.
"""

from gateway.auth.fingerprints import normalize_fingerprint
from gateway.core.commands import Command
from gateway.errors import CertificateTaken, CommandError

USAGE = "cert add | cert list | cert remove <fingerprint>"


async def cert(session, args):
    action, _, rest = args.strip().partition(" ")
    action = action.lower()
    if action == "add" and not rest.strip():
        await _add(session)
    elif action == "list" and not rest.strip():
        await _list(session)
    elif action == "remove" and rest.strip():
        await _remove(session, rest)
    else:
        raise CommandError(f"Usage: {USAGE}")


async def _add(session):
    fingerprint = session.capabilities.certificate
    if not fingerprint:
        raise CommandError(
            "This connection has no client certificate. Connect over TLS with one "
            "(e.g. openssl s_client -cert cert.pem -key key.pem) and run 'cert add' there."
        )
    try:
        added = await session.core.store.bind_certificate(session.account.id, fingerprint)
    except CertificateTaken:
        raise CommandError("That certificate is already bound to another account; nothing was changed.")
    if not added:
        session.send(f"That certificate ({fingerprint}) is already bound to your account.")
        return
    session.send(
        f"Certificate {fingerprint} is now bound to your account: connecting with it logs you in without a password."
    )


async def _list(session):
    bound = await session.core.store.certificates_of(session.account.id)
    if not bound:
        session.send("No certificates are bound to your account. Connect with one and use 'cert add'.")
        return
    current = session.capabilities.certificate
    lines = [f"{len(bound)} {'certificate' if len(bound) == 1 else 'certificates'} bound to your account:"]
    for entry in bound:
        note = " (this connection)" if entry.fingerprint == current else ""
        lines.append(f"  {entry.fingerprint}  added {entry.added_at}{note}")
    session.send("\n".join(lines))


async def _remove(session, text):
    fingerprint = normalize_fingerprint(text)
    if fingerprint is None:
        raise CommandError("That is not a SHA-256 fingerprint (64 hex digits, colons allowed); see 'cert list'.")
    if not await session.core.store.unbind_certificate(session.account.id, fingerprint):
        raise CommandError("No such certificate is bound to your account; see 'cert list'.")
    session.send(f"Certificate {fingerprint} no longer logs you in.")


COMMANDS = (
    Command("cert", cert, USAGE, "Bind the client certificate you connected with to your account, list, or remove one."),
)
