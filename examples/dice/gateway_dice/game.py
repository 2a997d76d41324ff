"""
The dice-and-board game: C{roll <dice>}, C{board}, C{post <text>},
C{read <n>}.
"""

import random
import re
import time

from gateway.core.commands import Command
from gateway.core.markup import escape
from gateway.errors import CommandError
from gateway.game import Game

#: The plugin's name, which keys its data in the store.
NAME = "dice"

_DICE = re.compile(r"^(\d*)d(\d+)$")
MAX_DICE = 100
MAX_SIDES = 1000
ROLL_USAGE = f"Usage: roll <dice>, e.g. roll 2d6 or roll d20 (1-{MAX_DICE} dice of 2-{MAX_SIDES} sides)"

#: Posts a room's board keeps; the oldest go first.
MAX_POSTS = 100
MAX_POST_LENGTH = 500
#: How much of a post C{board} shows.
PREVIEW = 50

_random = random.SystemRandom()


def roll(session, args):
    match = _DICE.match(args.strip().lower())
    if match is None:
        raise CommandError(ROLL_USAGE)
    count, sides = int(match.group(1) or 1), int(match.group(2))
    if not 1 <= count <= MAX_DICE or not 2 <= sides <= MAX_SIDES:
        raise CommandError(ROLL_USAGE)
    rolls = [_random.randint(1, sides) for _ in range(count)]
    total = sum(rolls)
    dice = f"{count}d{sides}"
    detail = f"{' + '.join(map(str, rolls))} = {total}" if count > 1 else str(total)
    session.send(f"You roll {dice}: {detail}.")
    session.core.world.tell_room(session.room, f"{session.account.name} rolls {dice}: {total}.", exclude=session)


def _board(session):
    return session.core.games.data(NAME).room(session.room)


async def board(session, args):
    if args:
        raise CommandError("Usage: board")
    posts = await _board(session).get("posts", [])
    name = session.core.world.rooms[session.room].name
    if not posts:
        session.send(f"The board in {name} is empty. Add to it with: post <text>")
        return
    lines = [f"The board in {name} ({len(posts)} {'post' if len(posts) == 1 else 'posts'}):"]
    for number, post in enumerate(posts, 1):
        text = post["text"] if len(post["text"]) <= PREVIEW else post["text"][: PREVIEW - 3] + "..."
        lines.append(f"  {number:>3}. {post['author']}: {escape(text)}")
    lines.append("Read one with: read <number>")
    session.send("\n".join(lines))


async def post(session, args):
    if not args:
        raise CommandError("Post what? Usage: post <text>")
    if len(args) > MAX_POST_LENGTH:
        raise CommandError(f"That is too long for the board ({len(args)} characters, at most {MAX_POST_LENGTH}).")
    entry = {
        "author": session.account.name,
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(session.core.clock.seconds())),
        "text": args,
    }
    posts = await _board(session).update("posts", lambda posts: (posts + [entry])[-MAX_POSTS:], default=[])
    session.send(f"Your post is number {len(posts)} on the board here.")
    session.core.world.tell_room(session.room, f"{session.account.name} pins a note to the board.", exclude=session)


async def read(session, args):
    if not args.isdigit():
        raise CommandError("Usage: read <number> (see 'board' for the numbers)")
    posts = await _board(session).get("posts", [])
    number = int(args)
    if not 1 <= number <= len(posts):
        count = f"{len(posts)} {'post' if len(posts) == 1 else 'posts'}"
        raise CommandError(f"There is no post {number} here; the board has {count}.")
    entry = posts[number - 1]
    session.send(f"Post {number}, by {entry['author']} ({entry['at']}):\n{escape(entry['text'])}")


def game():
    """
    The game: its four commands.

    @rtype: L{gateway.game.Game}
    """
    return Game([
        Command("roll", roll, "roll <dice>", "Roll dice, e.g. 'roll 2d6'; the room sees the total."),
        Command("board", board, "board", "List the posts on this room's message board."),
        Command("post", post, "post <text>", "Pin a post to this room's message board."),
        Command("read", read, "read <number>", "Read a post on this room's message board."),
    ])
