#!/usr/bin/env python3
"""Renders the mcp-connect TUI, as a terminal shows it, to a PNG (the README's picture).

Regenerate assets/tui.png from the repository root (Python 3 with Pillow: Debian's
python3-pil, which is /usr/bin/python3's; tmux; the font from fonts-dejavu-core):

    cargo build && /usr/bin/python3 assets/screenshot.py --run target/debug/mcp-connect -o assets/tui.png
    /usr/bin/python3 assets/screenshot.py --run target/debug/mcp-connect --scene failure -o assets/tui-failure.png

--run starts `mcp-connect demo` in a private tmux server (120x36, a throwaway HOME, so no
real config is touched). The `healthy` scene presses Enter on serena-direct, waits until the
health pane says serving and then --wait seconds (default 40) so the latency sparkline fills
with samples; the `failure` scene edits serena-direct with `e` to a Service that does not exist
(a typo, `serena-mpc`), starts it and waits for the health pane's cause and fix. Either way it
takes the screen with `tmux capture-pane -e -p` (text with its SGR colours), presses q, and
renders the capture. To render a capture you took yourself:

    tmux capture-pane -e -p -t SESSION > screen.ansi
    /usr/bin/python3 assets/screenshot.py screen.ansi -o assets/tui.png

The renderer handles SGR bold, dim, italic, underline and reverse, the 16 colours, the 256
colour palette and truecolor (`38;5;N`, `38;2;R;G;B`, also with colons). Box-drawing lines and
block elements are drawn as shapes so that frames and sparklines join up between cells; the
rest is DejaVu Sans Mono (DejaVu Sans for glyphs the mono font lacks).
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import unicodedata

try:
    from PIL import Image, ImageDraw, ImageFont
except ImportError:
    sys.exit("screenshot.py needs Pillow: apt-get install python3-pil and run it with "
             "/usr/bin/python3, or pip install pillow")

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = {
    (False, False): "DejaVuSansMono.ttf",
    (True, False): "DejaVuSansMono-Bold.ttf",
    (False, True): "DejaVuSansMono-Oblique.ttf",
    (True, True): "DejaVuSansMono-BoldOblique.ttf",
}
FALLBACK = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}

# A dark theme (One Half Dark's colours): default background and foreground, then the 16.
BACKGROUND = (0x28, 0x2C, 0x34)
FOREGROUND = (0xDC, 0xDF, 0xE4)
ANSI16 = [
    (0x28, 0x2C, 0x34), (0xE0, 0x6C, 0x75), (0x98, 0xC3, 0x79), (0xE5, 0xC0, 0x7B),
    (0x61, 0xAF, 0xEF), (0xC6, 0x78, 0xDD), (0x56, 0xB6, 0xC2), (0xDC, 0xDF, 0xE4),
    (0x7F, 0x84, 0x8E), (0xEF, 0x83, 0x8B), (0xB1, 0xD8, 0x95), (0xF0, 0xD1, 0x97),
    (0x84, 0xC0, 0xF4), (0xD7, 0x98, 0xE8), (0x7C, 0xCB, 0xD4), (0xFF, 0xFF, 0xFF),
]


def palette256(n):
    """xterm's 256-colour palette."""
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return (level, level, level)


class Style:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None  # None: the default; else an (r, g, b)
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def copy(self):
        other = Style()
        for name in Style.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    def apply(self, params):
        """Applies one SGR sequence's parameters (`1;38;5;6`, `38:2::255:0:0`, ``)."""
        # Colons separate the sub-parameters of one colour; semicolons separate parameters.
        groups = [g.split(":") for g in params.split(";")] if params else [["0"]]
        flat = []
        for group in groups:
            if len(group) > 1:
                flat.append([int(x) if x else 0 for x in group])
            else:
                flat.append(int(group[0]) if group[0] else 0)
        i = 0
        while i < len(flat):
            p = flat[i]
            if isinstance(p, list):
                # 38:5:N, 38:2:R:G:B or 38:2:CS:R:G:B
                target, mode, rest = p[0], p[1] if len(p) > 1 else 0, p[2:]
                colour = None
                if mode == 5 and rest:
                    colour = palette256(rest[0] % 256)
                elif mode == 2 and len(rest) >= 3:
                    colour = tuple(v % 256 for v in rest[-3:])
                self.set_colour(target, colour)
                i += 1
                continue
            if p in (38, 48, 58):
                mode = flat[i + 1] if i + 1 < len(flat) else None
                if mode == 5 and i + 2 < len(flat):
                    self.set_colour(p, palette256(flat[i + 2] % 256))
                    i += 3
                    continue
                if mode == 2 and i + 4 < len(flat):
                    self.set_colour(p, tuple(v % 256 for v in flat[i + 2:i + 5]))
                    i += 5
                    continue
                i += 1
                continue
            if p == 0:
                self.reset()
            elif p == 1:
                self.bold = True
            elif p == 2:
                self.dim = True
            elif p == 3:
                self.italic = True
            elif p == 4:
                self.underline = True
            elif p == 7:
                self.reverse = True
            elif p == 22:
                self.bold = self.dim = False
            elif p == 23:
                self.italic = False
            elif p == 24:
                self.underline = False
            elif p == 27:
                self.reverse = False
            elif 30 <= p <= 37:
                self.fg = ANSI16[p - 30]
            elif p == 39:
                self.fg = None
            elif 40 <= p <= 47:
                self.bg = ANSI16[p - 40]
            elif p == 49:
                self.bg = None
            elif 90 <= p <= 97:
                self.fg = ANSI16[p - 90 + 8]
            elif 100 <= p <= 107:
                self.bg = ANSI16[p - 100 + 8]
            i += 1

    def set_colour(self, target, colour):
        if target == 38:
            self.fg = colour
        elif target == 48:
            self.bg = colour

    def colours(self):
        """(foreground, background) as drawn, after reverse and dim."""
        fg = self.fg or FOREGROUND
        bg = self.bg or BACKGROUND
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


TOKEN = re.compile(
    r"\x1b\[([0-9;:]*)m"  # SGR
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (hyperlinks, titles): skipped
    r"|\x1b\[[0-9;:?<=>]*[ -/]*[@-~]"  # any other CSI: skipped
    r"|\x1b[@-Z\\-_]"  # two-byte escapes: skipped
)


def parse(text):
    """The screen as rows of cells (char, Style); a wide character's second cell is None."""
    rows = []
    for line in text.rstrip("\n").split("\n"):
        style = Style()
        cells = []
        pos = 0
        for match in TOKEN.finditer(line):
            put(cells, line[pos:match.start()], style)
            if match.group(1) is not None:
                style.apply(match.group(1))
            pos = match.end()
        put(cells, line[pos:], style)
        rows.append(cells)
    return rows


def put(cells, text, style):
    for ch in text:
        if ch == "\r" or unicodedata.combining(ch):
            continue
        cells.append((ch, style.copy()))
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            cells.append(None)


# Box drawing: which of left, right, up, down each character joins (light, heavy and double
# lines all drawn light; rounded corners drawn square).
LEFT, RIGHT, UP, DOWN = 1, 2, 4, 8
BOX = {}
for chars, arms in [
    ("─━═╌╍┄┅┈┉", LEFT | RIGHT),
    ("│┃║╎╏┆┇┊┋", UP | DOWN),
    ("┌┍┎┏╒╓╔╭", RIGHT | DOWN),
    ("┐┑┒┓╕╖╗╮", LEFT | DOWN),
    ("└┕┖┗╘╙╚╰", RIGHT | UP),
    ("┘┙┚┛╛╜╝╯", LEFT | UP),
    ("├┝┞┟┠┡┢┣╞╟╠", UP | DOWN | RIGHT),
    ("┤┥┦┧┨┩┪┫╡╢╣", UP | DOWN | LEFT),
    ("┬┭┮┯┰┱┲┳╤╥╦", LEFT | RIGHT | DOWN),
    ("┴┵┶┷┸┹┺┻╧╨╩", LEFT | RIGHT | UP),
    ("┼┽┾┿╀╁╂╃╄╅╆╇╈╉╊╋╪╫╬", LEFT | RIGHT | UP | DOWN),
    ("╴", LEFT), ("╶", RIGHT), ("╵", UP), ("╷", DOWN),
]:
    for ch in chars:
        BOX[ch] = arms


def block_rect(ch, x, y, w, h):
    """The filled part of a block element, or None when `ch` is not one."""
    code = ord(ch)
    if 0x2581 <= code <= 0x2588:  # ▁ … █: the lower n eighths
        top = y + h - round(h * (code - 0x2580) / 8)
        return (x, top, x + w, y + h)
    if 0x2589 <= code <= 0x258F:  # ▉ … ▏: the left n eighths
        return (x, y, x + round(w * (0x2590 - code) / 8), y + h)
    if ch == "▀":
        return (x, y, x + w, y + h // 2)
    if ch == "▐":
        return (x + w // 2, y, x + w, y + h)
    if ch == "▔":
        return (x, y, x + w, y + max(1, h // 8))
    if ch == "▕":
        return (x + w - max(1, w // 8), y, x + w, y + h)
    return None


class Fonts:
    def __init__(self, size):
        if not os.path.isdir(FONT_DIR):
            sys.exit(f"{FONT_DIR} is missing: apt-get install fonts-dejavu-core")
        self.mono = {k: ImageFont.truetype(os.path.join(FONT_DIR, v), size) for k, v in FONTS.items()}
        self.fallback = {k: ImageFont.truetype(os.path.join(FONT_DIR, v), size) for k, v in FALLBACK.items()}
        regular = self.mono[(False, False)]
        self.cell_w = round(regular.getlength("M"))
        ascent, descent = regular.getmetrics()
        self.ascent = ascent
        self.cell_h = round((ascent + descent) * 1.12)
        self.notdef = bytes(regular.getmask("\U0010FFFD"))
        self.known = {}

    def pick(self, ch, bold, italic):
        font = self.mono[(bold, italic)]
        covered = self.known.get(ch)
        if covered is None:
            covered = bytes(self.mono[(False, False)].getmask(ch)) != self.notdef
            self.known[ch] = covered
        return font if covered else self.fallback[bold]


def render(rows, fonts, cols, lines, pad):
    cw, ch_ = fonts.cell_w, fonts.cell_h
    width, height = cols * cw + 2 * pad, lines * ch_ + 2 * pad
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    stroke = max(1, round(cw / 9))
    top_pad = (ch_ - (fonts.ascent + fonts.mono[(False, False)].getmetrics()[1])) // 2
    for r, cells in enumerate(rows[:lines]):
        y = pad + r * ch_
        for c, cell in enumerate(cells[:cols]):
            if cell is None:
                continue
            glyph, style = cell
            x = pad + c * cw
            fg, bg = style.colours()
            wide = c + 1 < len(cells) and cells[c + 1] is None
            if bg != BACKGROUND:
                draw.rectangle((x, y, x + cw * (2 if wide else 1) - 1, y + ch_ - 1), fill=bg)
            if glyph == " ":
                pass
            elif glyph in BOX:
                arms = BOX[glyph]
                cx, cy = x + (cw - stroke) // 2, y + (ch_ - stroke) // 2
                if arms & LEFT:
                    draw.rectangle((x, cy, cx + stroke - 1, cy + stroke - 1), fill=fg)
                if arms & RIGHT:
                    draw.rectangle((cx, cy, x + cw - 1, cy + stroke - 1), fill=fg)
                if arms & UP:
                    draw.rectangle((cx, y, cx + stroke - 1, cy + stroke - 1), fill=fg)
                if arms & DOWN:
                    draw.rectangle((cx, cy, cx + stroke - 1, y + ch_ - 1), fill=fg)
            elif (rect := block_rect(glyph, x, y, cw, ch_)) is not None:
                if rect[2] > rect[0] and rect[3] > rect[1]:
                    draw.rectangle((rect[0], rect[1], rect[2] - 1, rect[3] - 1), fill=fg)
            else:
                font = fonts.pick(glyph, style.bold, style.italic)
                draw.text((x, y + top_pad), glyph, font=font, fill=fg)
            if style.underline:
                uy = y + fonts.ascent + top_pad + stroke
                draw.rectangle((x, uy, x + cw - 1, uy + stroke - 1), fill=fg)
    return image


def tmux(socket, *args, check=True):
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    env["SHELL"] = "/bin/sh"  # the server runs the session's command with it
    return subprocess.run(["tmux", "-L", socket, *args], env=env, check=check,
                          capture_output=True, text=True)


def wait_for(socket, what, test, within):
    deadline = time.monotonic() + within
    while True:
        screen = tmux(socket, "capture-pane", "-p", "-t", "shot").stdout
        if test(screen):
            return screen
        if time.monotonic() > deadline:
            sys.exit(f"waited {within}s for {what}; the screen was:\n{screen}")
        time.sleep(0.1)


def capture_demo(binary, cols, lines, wait, scene):
    """Runs the demo in tmux, plays `scene` on serena-direct, and answers the screen with its
    escapes."""
    binary = os.path.abspath(binary)
    socket = f"mcp-connect-shot-{os.getpid()}"
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_STATE_HOME": os.path.join(home, "state"),
        }
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f'exec env -i TERM="$TERM" {assignments} {shlex.quote(binary)} demo'
        tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "shot",
             "-x", str(cols), "-y", str(lines), command)
        socket_path = tmux(socket, "display-message", "-p", "#{socket_path}").stdout.strip()
        try:
            wait_for(socket, "the route list", lambda s: "Routes 1/4" in s, 60)
            if scene == "failure":
                # e, tab tab: the service field; a typo in it; enter saves; enter starts.
                keys = ["e", "Tab", "Tab"] + ["BSpace"] * 30
                tmux(socket, "send-keys", "-t", "shot", *keys)
                tmux(socket, "send-keys", "-t", "shot", "-l", "serena-mpc")
                tmux(socket, "send-keys", "-t", "shot", "Enter")
                wait_for(socket, "the profile saved", lambda s: "profile saved as" in s, 20)
                tmux(socket, "send-keys", "-t", "shot", "Enter")
                wait_for(socket, "the cause and fix", lambda s: "✖ failed" in s and "fix " in s, 60)
                time.sleep(1)
            else:
                tmux(socket, "send-keys", "-t", "shot", "Enter")
                wait_for(socket, "serena-direct to serve", lambda s: "● serving" in s, 60)
                time.sleep(wait)
            screen = tmux(socket, "capture-pane", "-e", "-p", "-t", "shot").stdout
            tmux(socket, "send-keys", "-t", "shot", "q")
            time.sleep(1)
        finally:
            tmux(socket, "kill-server", check=False)
            if socket_path and os.path.exists(socket_path):
                os.remove(socket_path)
    return screen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture", nargs="?", help="a `tmux capture-pane -e -p` file (- for stdin)")
    parser.add_argument("--run", metavar="MCP_CONNECT", help="run this binary's demo and capture it")
    parser.add_argument("-o", "--output", default="assets/tui.png")
    parser.add_argument("--save-capture", metavar="FILE", help="also keep the captured text")
    parser.add_argument("--cols", type=int, default=120)
    parser.add_argument("--lines", type=int, default=36)
    parser.add_argument("--wait", type=float, default=40, help="seconds of samples after healthy")
    parser.add_argument("--font-size", type=int, default=28)
    parser.add_argument("--scene", choices=["healthy", "failure"], default="healthy",
                        help="what the demo shows when captured")
    args = parser.parse_args()

    if args.run:
        text = capture_demo(args.run, args.cols, args.lines, args.wait, args.scene)
    elif args.capture in (None, "-"):
        text = sys.stdin.read()
    else:
        with open(args.capture, encoding="utf-8") as f:
            text = f.read()
    if args.save_capture:
        with open(args.save_capture, "w", encoding="utf-8") as f:
            f.write(text)

    rows = parse(text)
    lines = min(args.lines, len(rows))
    fonts = Fonts(args.font_size)
    image = render(rows, fonts, args.cols, lines, pad=fonts.cell_w * 2)
    # A terminal holds few colours: a palette keeps the PNG small with no visible loss.
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(args.output, optimize=True)
    print(f"{args.output}: {image.width}x{image.height}, {os.path.getsize(args.output)} bytes")


if __name__ == "__main__":
    main()
