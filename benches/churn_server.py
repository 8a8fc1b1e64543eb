#!/usr/bin/env python3
"""A loopback feed server whose feeds change at every request, for benches/memory.sh.

    python3 churn_server.py --feeds 500 --items 20 --new 2 --port-file PORT_FILE

/feeds/NNNN.rss is an RSS feed of ITEMS items; each request to it moves the feed on by NEW
items (the oldest drop off), as a busy news feed does between polls. Item texts are drawn
from a fixed vocabulary with the bench keywords among them, so some items match. No
validators: every poll downloads and parses every feed. /__stats gives {"requests": N}.
Binds 127.0.0.1 only.
"""
import argparse
import json
import random
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("government minister said talks security defence forces region officials report "
         "week agreement troops border economy election parliament court energy prices trade "
         "ministry statement military exercise alliance summit aid support budget").split()
KEYWORDS = ["NATO", "Ukraine", "SDF", "Self-Defense Forces"]


def item(feed, n):
    rng = random.Random(feed * 1_000_003 + n)
    words = [rng.choice(WORDS) for _ in range(rng.randint(60, 160))]
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), rng.choice(KEYWORDS))
    title = " ".join(words[:8]).capitalize()
    body = " ".join(words)
    link = f"https://news{feed % 50}.example/{feed}/{n}"
    return (f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{formatdate(usegmt=True)}</pubDate><description>&lt;p&gt;{body}&lt;/p&gt;"
            f"</description></item>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--new", type=int, default=2)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    lock = threading.Lock()
    polls = [0] * args.feeds
    total = [0]
    # Each item is served ITEMS / NEW times: made once, dropped when it leaves its feed.
    made = [{} for _ in range(args.feeds)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, code, body, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/__stats":
                return self.send(200, json.dumps({"requests": total[0]}).encode(), "application/json")
            try:
                feed = int(self.path.removeprefix("/feeds/").removesuffix(".rss"))
                assert 0 <= feed < args.feeds
            except (ValueError, AssertionError):
                return self.send(404, b"not found", "text/plain")
            with lock:
                k = polls[feed]
                polls[feed] += 1
                total[0] += 1
            first = k * args.new
            cache = made[feed]
            for n in [n for n in cache if n < first]:
                del cache[n]
            for n in range(first, first + args.items):
                if n not in cache:
                    cache[n] = item(feed, n)
            items = "".join(cache[n] for n in range(first + args.items - 1, first - 1, -1))
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>feed {feed}</title>'
                    f"<link>https://news{feed % 50}.example/</link>{items}</channel></rss>").encode()
            self.send(200, body, "application/rss+xml")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
