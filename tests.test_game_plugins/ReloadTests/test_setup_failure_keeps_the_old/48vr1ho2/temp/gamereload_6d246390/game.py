
from gateway.core.commands import Command
from gateway.game import Game

class Dice(Game):
    def setup(self, core):
        raise ValueError('no dice today')

def roll(session, args):
    session.send('You roll a 6.')

def game():
    return Dice([Command("roll", roll, "roll <dice>", "Roll dice.")], rooms=None)
