"""Data-rights reminders (filled in below)."""
