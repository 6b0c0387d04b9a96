# A progress bar for the slow steps (the PIN's key derivation, the BIP-39 seed): both
# are PBKDF2 in lib/hashlib, whose progress(done, total) callback calls this. Drawn as
# text, so the screen's text mirror says exactly what the pixels do:
#
#   <title>
#
#   deriving... 40%
#   [####......]
#
# Redrawn only when the figure has moved by `step` percent: a redraw costs more than
# a few hundred PBKDF2 rounds on the simulator (it writes the screen files).


def show(display, title, pct):
    n = pct // 10
    lines = [title, "", "deriving... %d%%" % pct, "[" + "#" * n + "." * (10 - n) + "]"]
    fb = display.fb
    fb.fill(0)
    for i in range(len(lines)):
        fb.text(lines[i], 0, i * 8, 1)
    display.show(lines)


def callback(app, title, step=10):
    """progress(done, total) for pbkdf2_hmac: draws the bar on app's display (at 0%
    at once, so the screen changes as soon as the slow step starts)."""
    last = [0]
    show(app.board.display, title, 0)

    def progress(done, total):
        pct = done * 100 // total if total > 0 else 100
        if pct - last[0] >= step or (pct == 100 and last[0] < 100):
            last[0] = pct
            show(app.board.display, title, pct)
    return progress
