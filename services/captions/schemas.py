"""The payload of a chunk of live audio (Socket.IO binary event `caption_audio`)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load

from services.captions.stream import MAX_CHUNK_BYTES

BAD_AUDIO = _l("Send audio as 16 kHz mono 16-bit samples, at most one second at a time.")


class PcmBytes(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (bytes, bytearray)) or not value or len(value) % 2 or len(value) > MAX_CHUNK_BYTES:
            raise ValidationError(str(BAD_AUDIO))
        return bytes(value)


class AudioChunkSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def an_object(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError(str(BAD_AUDIO), field_name="_schema")
        return data

    audio = PcmBytes(load_default=None)
    end = fields.Boolean(load_default=False)
