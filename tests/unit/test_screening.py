"""Personal-data and profanity flags (the safety categories are tested in test_safety_screening.py)."""
import pytest

from services.screening.flags import screen


@pytest.mark.parametrize("text, flag", [
    ("Ring me on 07700 900123 please", "phone"),
    ("My number is 0113 496 0000", "phone"),
    ("email me at jo.bloggs@example.com", "email"),
    ("I live at 14 Acacia Avenue", "address"),
    ("the house at 3 Mill St, LS1 4AB", "address"),
    ("a car reg AB12 CDE is parked", "vehicle"),
    ("my crime reference number 13/45678901", "crime_ref"),
    ("What the fuck are you doing about it", "profanity"),
])
def test_flags(text, flag):
    assert flag in screen(text)


@pytest.mark.parametrize("text", [
    "Will the precept rise by more than 5% in 2027?",
    "How many PCSOs will there be in Scunthorpe next year?",
    "What is being done about speeding on the A61?",
    "Can the station open 24 hours at weekends?",
])
def test_ordinary_questions_are_not_flagged(text):
    assert screen(text) == []
