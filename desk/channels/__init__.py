"""Channels that flow in by themselves (issue 7): email over IMAP (``flask desk fetch-mail``),
the WhatsApp Business webhook, a generic signed webhook; replies go back on the same channel
through the outbox."""
