"""Live captions: a staff member's microphone in a live room, transcribed as it happens.

The live process appends the audio to a Redis stream per room (stream.py); the caption worker
(workers/captions/live.py) segments it (segments.py), transcribes it and stores the lines
(actions.py), which reach residents through the room event log. docs/captions.md has the design.
"""
