"""What a webhook may send us, checked before anything reads it (issue 22, point 1).

Every call to /hooks/… passes, in this order:

1. **its size**, before the body is read: over DESK_WEBHOOK_MAX_KB (default 256) → 413, also for
   a chunked body with no Content-Length (read up to one byte past the limit, no further);
2. **its signature** (desk.channels.views: 403);
3. **its form**: UTF-8, JSON, nested at most MAX_DEPTH deep (counted on the bytes, before the
   parser recurses), no key twice in one object (two parsers would read two different payloads);
4. **its shape**: the pydantic models below for the parts of Meta's payload the desk reads
   (every string, list and count bounded; a value of another type is refused, not coerced;
   fields we do not read are ignored, as Meta adds new ones).

A call refused at 1, 3 or 4 stores nothing but a count on the channel's health row
(``refused``) and a log line saying where it failed (a field's path and the rule), never
what it held. Meta does not retry a 4xx: a refused call is not taken in later either.
"""
from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from flask import Flask, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from desk.models import ChannelState, utcnow
from desk.transaction import commit, discard

log = logging.getLogger("desk.channels.payloads")

MAX_DEPTH = 16  # Meta's deepest path we read is entry[].changes[].value.messages[].interactive.list_reply: 8
HOOKS = {"/hooks/whatsapp": "whatsapp", "/hooks/inbound": "inbound"}


class Refused(ValueError):
    """A webhook body the desk does not take: ``reason`` says where, in words safe to log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# 1. Size -----------------------------------------------------------------------------------

def max_bytes(config) -> int:
    return int(config["DESK_WEBHOOK_MAX_KB"]) * 1024


def _limit_hooks():
    """``before_request``: a webhook's body over the limit is refused before anything reads it."""
    channel = HOOKS.get(request.path)
    if channel is None or request.method != "POST":
        return None
    limit = max_bytes(current_app.config)
    if request.content_length is not None:
        request.max_content_length = limit
        return too_large(channel) if request.content_length > limit else None
    # A chunked body says no length: read one byte more than the limit at most (Werkzeug stops
    # there), kept for the readers after us; a byte too many is a body too large.
    request.max_content_length = limit + 1
    return too_large(channel) if len(request.get_data(cache=True)) > limit else None


def too_large(channel: str):
    """The 413 answer (and its count) for a body over DESK_WEBHOOK_MAX_KB."""
    refused(channel, f"body over {current_app.config['DESK_WEBHOOK_MAX_KB']} KB")
    return jsonify(error=f"the body is larger than {current_app.config['DESK_WEBHOOK_MAX_KB']} KB"), 413


def init_app(app: Flask) -> None:
    """Registered by create_app before desk.input_guard, which reads (and parses) a JSON body."""
    app.before_request(_limit_hooks)


# 2. Form -----------------------------------------------------------------------------------

def depth(raw: bytes) -> int:
    """How deeply the JSON text nests its arrays and objects (brackets inside strings do not
    count), read in one pass without building anything."""
    deepest = level = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            level += 1
            deepest = max(deepest, level)
        elif byte in (0x5D, 0x7D):
            level -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise Refused("a key appears twice in one object")
        result[key] = value
    return result


def parse(raw: bytes) -> Any:
    """The JSON value of ``raw``, or Refused."""
    if depth(raw) > MAX_DEPTH:
        raise Refused(f"nested deeper than {MAX_DEPTH}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except Refused:
        raise
    except (ValueError, RecursionError):
        raise Refused("not JSON") from None


# 3. Shape: Meta's WhatsApp Cloud API webhook --------------------------------------------------

Id = Annotated[str, StringConstraints(max_length=256)]
Short = Annotated[str, StringConstraints(max_length=1024)]
Body = Annotated[str, StringConstraints(max_length=8192)]  # WhatsApp's own limit is 4,096 characters


class _Part(BaseModel):
    # strict: a number where a string is expected is refused, not turned into one
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class TextPart(_Part):
    body: Body = ""


WaId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]  # the sender's WhatsApp id: a number
MediaId = Annotated[str, StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9_-]*$")]  # a path segment, no more


class MediaPart(_Part):
    id: MediaId = ""
    mime_type: Short = ""
    caption: Body = ""
    filename: Short = ""


class LocationPart(_Part):
    latitude: float | int | None = None
    longitude: float | int | None = None
    name: Short = ""
    address: Short = ""


class ButtonPart(_Part):
    text: Short = ""


class Choice(_Part):
    title: Short = ""


class InteractivePart(_Part):
    button_reply: Choice | None = None
    list_reply: Choice | None = None


class ContactName(_Part):
    formatted_name: Short = ""


class SharedContact(_Part):
    name: ContactName | None = None


class ReactionPart(_Part):
    message_id: Id = ""
    emoji: Short = ""


class SystemPart(_Part):
    body: Body = ""
    type: Short = ""


class Error(_Part):
    code: int | None = None
    title: Short = ""
    message: Short = ""


class Message(_Part):
    id: Id
    from_: WaId = Field(alias="from")
    timestamp: Id = ""
    type: Id = ""
    text: TextPart | None = None
    image: MediaPart | None = None
    document: MediaPart | None = None
    audio: MediaPart | None = None
    video: MediaPart | None = None
    sticker: MediaPart | None = None
    location: LocationPart | None = None
    button: ButtonPart | None = None
    interactive: InteractivePart | None = None
    contacts: Annotated[list[SharedContact], Field(max_length=20)] = []
    reaction: ReactionPart | None = None
    system: SystemPart | None = None
    errors: Annotated[list[Error], Field(max_length=10)] = []

    def media(self) -> MediaPart | None:
        """The media part its type names (image, document, audio, video, sticker), if any."""
        if self.type in MEDIA_TYPES:
            part: MediaPart | None = getattr(self, self.type)
            return part
        return None


MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


class Status(_Part):
    id: Id = ""
    status: Id = ""
    timestamp: Id = ""
    recipient_id: Id = ""
    errors: Annotated[list[Error], Field(max_length=10)] = []


class Profile(_Part):
    name: Short = ""


class Contact(_Part):
    wa_id: Id = ""
    profile: Profile | None = None


class Metadata(_Part):
    phone_number_id: Id = ""
    display_phone_number: Id = ""


class Value(_Part):
    metadata: Metadata | None = None
    contacts: Annotated[list[Contact], Field(max_length=100)] = []
    messages: Annotated[list[Message], Field(max_length=100)] = []
    statuses: Annotated[list[Status], Field(max_length=1000)] = []


class Change(_Part):
    field: Id = ""
    value: Value | None = None


class Entry(_Part):
    id: Id = ""
    changes: Annotated[list[Change], Field(max_length=100)] = []


class WhatsAppCall(_Part):
    """One webhook call from Meta (``object: whatsapp_business_account``)."""

    object: Id = ""
    entry: Annotated[list[Entry], Field(max_length=100)] = []


def whatsapp_call(value: Any) -> WhatsAppCall:
    """The checked call, or Refused naming the first few fields that failed and why (the
    rule, never the value)."""
    try:
        return WhatsAppCall.model_validate(value)
    except ValidationError as error:
        where = "; ".join(f"{'.'.join(str(p) for p in item['loc']) or '(body)'}: {item['type']}"
                          for item in error.errors(include_input=False, include_url=False)[:3])
        raise Refused(f"not the expected shape ({where})") from None


# The count -----------------------------------------------------------------------------------

def refused(channel: str, reason: str, session: Session | None = None) -> None:
    """Count a refused call on the channel's health row and log why (never what it held).
    Commits only the count; a database that fails here does not change the answer."""
    log.warning("webhook %s: call refused: %s", channel, reason)
    if session is None:
        from desk.extensions import db
        session = db.session
    try:
        discard(session)
        state = session.get(ChannelState, channel)
        if state is None:
            state = ChannelState(name=channel, errors=0, waiting=0, received=0, refused=0)
            session.add(state)
        state.refused = (state.refused or 0) + 1
        state.last_refused_at = utcnow()
        state.last_refusal = reason[:200]
        commit(session)
    except SQLAlchemyError:  # two refusals created the row at once, or the database is away
        discard(session)
        log.exception("webhook %s: the refusal could not be counted", channel)
