"""An aiosmtpd handler for the SMTP tests: every message received is
appended to a file as one JSON line (envelope, raw content, and the
subject, Message-ID and text decoded as a mail client would).

Run: PYTHONPATH=<this dir> python -m aiosmtpd -n -l 127.0.0.1:<port> -c smtp_sink.JsonlSink <file>
"""

import email
import email.policy
import json


class JsonlSink:
    def __init__(self, path):
        self.path = path

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("JsonlSink takes one argument: the output file")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": envelope.content.decode("utf-8", errors="replace"),
            # Decoded as a mail client would show them.
            "subject": str(parsed["Subject"]),
            "message_id": str(parsed["Message-ID"]),
            "text": parsed.get_content(),
        }
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"
