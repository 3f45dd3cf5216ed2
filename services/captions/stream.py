"""The audio of live rooms in Redis: one stream per room, the rooms being captioned, each room's
lease (which caption worker decodes it) and checkpoint (how far it got).

Each chunk carries its absolute position in the room's audio (`at`, in samples), given by the
same Lua call that appends it, so the worker's segment ids (their first sample) are the same
however often it is restarted, whichever live process received the chunk.
"""
from __future__ import annotations

import redis as redis_module

SAMPLE_RATE = 16000
MAX_CHUNK_BYTES = 32000          # one second of 16 kHz 16-bit mono: browsers send 250-500 ms
STREAM_MAXLEN = 480              # about 2 minutes of 250 ms chunks (4 MB a room): more than a worker restart
LEASE_SECONDS = 10
ACTIVE = "captions:active"       # hash: room id -> tenant id


def stream_key(room_id) -> str:
    return f"captions:audio:{room_id}"


def position_key(room_id) -> str:
    return f"captions:at:{room_id}"


def lease_key(room_id) -> str:
    return f"captions:lease:{room_id}"


def checkpoint_key(room_id) -> str:
    return f"captions:checkpoint:{room_id}"


_APPEND = """
local at = redis.call('INCRBY', KEYS[2], ARGV[2]) - ARGV[2]
redis.call('EXPIRE', KEYS[2], 86400)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'at', at, 'pcm', ARGV[1], 'end', ARGV[4])
redis.call('EXPIRE', KEYS[1], 86400)
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
return at
"""


def append_chunk(client: redis_module.Redis, tenant_id, room_id, pcm: bytes, *, end: bool = False) -> int:
    """Append 16-bit little-endian mono samples (or, with `end`, the speaker stopping) in one round trip;
    returns the chunk's first sample."""
    return int(client.eval(_APPEND, 3, stream_key(room_id), position_key(room_id), ACTIVE,
                           pcm, len(pcm) // 2, STREAM_MAXLEN, "1" if end else "0", str(room_id), str(tenant_id)))


def active_rooms(client: redis_module.Redis) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in client.hgetall(ACTIVE).items()}


def forget_room(client: redis_module.Redis, room_id) -> None:
    pipe = client.pipeline()
    pipe.hdel(ACTIVE, str(room_id))
    pipe.delete(stream_key(room_id), position_key(room_id), lease_key(room_id), checkpoint_key(room_id))
    pipe.execute()


_TAKE_LEASE = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


def take_lease(client: redis_module.Redis, room_id, worker: str) -> bool:
    """Whether `worker` decodes this room: a free lease is taken, one's own renewed. A worker that
    restarts under the same name (its host name) takes its rooms back at once; another waits until
    the dead one's lease expires."""
    return bool(client.eval(_TAKE_LEASE, 1, lease_key(room_id), worker, LEASE_SECONDS))


def read_checkpoint(client: redis_module.Redis, room_id) -> tuple[str, int]:
    """(the last stream entry wholly decoded, the first sample not yet in a final line)."""
    raw = client.hgetall(checkpoint_key(room_id))
    return (raw.get(b"entry", b"0-0").decode(), int(raw.get(b"sample", b"0")))


def write_checkpoint(client: redis_module.Redis, room_id, entry: str, sample: int) -> None:
    pipe = client.pipeline()
    pipe.hset(checkpoint_key(room_id), mapping={"entry": entry, "sample": sample})
    pipe.expire(checkpoint_key(room_id), 86400)
    pipe.execute()
