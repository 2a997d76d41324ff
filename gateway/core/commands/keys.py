"""
Managing one's SSH public keys: C{keys add|list|remove}.
"""

from gateway.auth.sshkeys import BadPublicKey, parse_public_key
from gateway.core.commands import Command
from gateway.core.markup import escape
from gateway.errors import CommandError, DuplicateKey, TooManyKeys

_USAGE = "keys list | keys add <public key line> | keys remove <fingerprint>"


async def keys(session, args):
    action, _, rest = args.partition(" ")
    rest = rest.strip()
    action = action.lower()
    if action in ("", "list") and not rest:
        await _list(session)
    elif action == "add" and rest:
        await _add(session, rest)
    elif action in ("remove", "rm", "delete") and rest:
        await _remove(session, rest)
    else:
        raise CommandError(f"Usage: {_USAGE}")


async def _list(session):
    records = await session.core.store.keys_for(session.account.id)
    if not records:
        session.send("You have no SSH keys. Add one with: keys add <contents of your ~/.ssh/id_ed25519.pub>")
        return
    lines = [f"Your SSH keys ({len(records)}):"]
    for record in records:
        comment = f"  {escape(record.comment)}" if record.comment else ""
        lines.append(f"  {record.key_type:<20} {record.fingerprint}{comment}")
    session.send("\n".join(lines))


async def _add(session, line):
    try:
        key = parse_public_key(line)
    except BadPublicKey as e:
        raise CommandError(f"{escape(str(e))} Nothing was added.")
    limit = session.core.settings.accounts.max_ssh_keys
    try:
        await session.core.store.add_key(session.account.id, key.key_type, key.fingerprint, key.blob, key.comment, limit)
    except DuplicateKey:
        raise CommandError(f"The key {key.fingerprint} is already on your account.")
    except TooManyKeys:
        raise CommandError(f"You already have {limit} keys, the most allowed; remove one first.")
    session.send(f"Added {key.key_type} key {key.fingerprint}.\nYou can now log in over SSH with it.")


async def _remove(session, fingerprint):
    if not fingerprint.startswith("SHA256:"):
        fingerprint = "SHA256:" + fingerprint
    if not await session.core.store.remove_key(session.account.id, fingerprint):
        raise CommandError(f"You have no key {escape(fingerprint)}; 'keys list' shows yours. Nothing was removed.")
    session.send(f"Removed the key {fingerprint}.")


COMMANDS = (Command("keys", keys, _USAGE, "List, add or remove the SSH public keys you log in with."),)
