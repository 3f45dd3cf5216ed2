"""Captions for media attached to rooms: audio extraction, a speech-to-text engine, WebVTT."""
