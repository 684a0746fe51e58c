"""A real SMTP server for the end-to-end tests (aiosmtpd, Debian's
python3-aiosmtpd): accepts every mail and writes each to DIR as
<n>.eml (written whole, then renamed), refuses recipients whose local part
starts with "reject" with a 550, and prints "listening <port>" once bound.

usage: smtp_sink.py DIR [PORT]   (PORT 0 or absent: the kernel picks)
"""

import asyncio
import itertools
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(len(os.listdir(folder)))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("reject"):
            return "550 5.1.1 mailbox refused by the test sink"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        path = os.path.join(self.folder, f"{n:06d}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


async def main():
    folder = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(folder, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Sink(folder)
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True), "127.0.0.1", port, reuse_address=True
    )
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
