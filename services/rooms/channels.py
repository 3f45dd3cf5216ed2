"""Names of the Socket.IO rooms a connection joins."""
from uuid import UUID


def room_channel(room_id: UUID | str) -> str:
    return f"room:{room_id}"


def staff_channel(room_id: UUID | str) -> str:
    return f"staff:{room_id}"


def participant_channel(participant_id: UUID | str) -> str:
    return f"p:{participant_id}"
