"""What the public and staff may see of a question, answer, poll: one shape for pages, events and replays."""
from __future__ import annotations

from services.engagement.reasons import tenant_reason_text


def public_question(q: dict, display_name: str) -> dict:
    return {"id": str(q["id"]), "body": q["body"], "display_name": display_name,
            "asked_in_advance": q["asked_in_advance"], "votes": q["vote_count"],
            "published_at": q["published_at"].isoformat() if q["published_at"] else None}


def staff_question(q: dict, display_name: str) -> dict:
    return {**public_question(q, display_name), "status": q["status"], "flags": list(q["flags"]),
            "created_at": q["created_at"].isoformat(), "original_body": q["original_body"],
            "assigned_to": str(q["assigned_to"]) if q["assigned_to"] else None,
            "rejection_reason": q["rejection_reason"],
            "merged_into": str(q["merged_into"]) if q.get("merged_into") else None,
            "group_id": str(q["group_id"]) if q.get("group_id") else None,
            "safety": safety_reading(q), "priority": queue_priority(q)}


_PRIORITY = {"emergency": 0, "safeguarding": 1, "report_crime": 2}


def queue_priority(q: dict) -> int:
    """The moderator's "flagged first" order: screened dangers, then other flags, then the rest."""
    return _PRIORITY.get(q.get("safety_category") or "none", 3 if q["flags"] else 4)


_SAFETY_WORDING = {
    "emergency": ("Possible emergency", "999 guidance", "Escalate if someone may be at risk."),
    "safeguarding": ("Possible safeguarding concern", "safeguarding and 999 guidance",
                     "Escalate if a child or vulnerable adult may be at risk."),
    "report_crime": ("Possible crime report", "101 and online-reporting guidance",
                     "If it is a report, reject it as an individual case: it is not for a public chat."),
}


def safety_reading(q: dict) -> dict | None:
    """Why the screening flagged a question, in words a moderator reads at a glance."""
    category = q.get("safety_category") or "none"
    if category == "none":
        return None
    title, shown, advice = _SAFETY_WORDING[category]
    confidence = q.get("safety_confidence") or 0.0
    signals = list(q.get("safety_signals") or [])
    cues = f"; cues: {', '.join(signals)}" if signals else ""
    return {"category": category, "confidence": round(confidence, 2), "signals": signals,
            "summary": f"{title}, {round(confidence * 100)}% sure{cues}. The resident was shown {shown}. {advice}"}


def public_answer(a: dict, staff: dict, after_chat: bool = False) -> dict:
    return {"id": str(a["id"]), "question_id": str(a["question_id"]), "body": a["body"],
            "by": staff["display_name"], "title": staff["title"], "role": staff["role"], "verified": True,
            "after_chat": after_chat, "created_at": a["created_at"].isoformat()}


def poll_results(poll: dict, counts: dict[int, int]) -> dict:
    return {"poll_id": str(poll["id"]), "total": sum(counts.values()),
            "counts": [{"option": o["id"], "label": o["label"], "votes": counts.get(o["id"], 0)}
                       for o in poll["options"]]}


def public_poll(poll: dict) -> dict:
    return {"id": str(poll["id"]), "prompt": poll["prompt"], "kind": poll["kind"], "state": poll["state"],
            "options": poll["options"], "results_visibility": poll["results_visibility"]}


def own_question(question: dict, settings: dict | None = None) -> dict:
    """What the author sees of their own question, including why it was not published (in the
    tenant's wording when `settings` carries its own reason texts)."""
    code = question["rejection_reason"]
    return {"id": str(question["id"]), "body": question["body"], "status": question["status"],
            "reason": tenant_reason_text(settings, code) if code else None}
