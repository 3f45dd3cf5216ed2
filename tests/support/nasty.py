"""Hostile input for property-based tests (hypothesis): wrong types, huge and deeply nested
values, unicode edge cases (NUL, lone surrogates, bidi overrides, combining marks), nulls; and
payload strategies shaped by a marshmallow schema, so most examples get past the first check and
reach deeper code. Also finds every schema in the code base, so new ones are covered unasked."""
from __future__ import annotations

import importlib
import os
import uuid
from pathlib import Path

from hypothesis import strategies as st
from marshmallow import Schema, fields, validate

ROOT = Path(__file__).resolve().parents[2]
NIGHTLY = os.environ.get("NIGHTLY") == "1"


def budget(examples: int) -> int:
    """Examples per property: bounded in CI, ten times more in the nightly run (NIGHTLY=1)."""
    return examples * 10 if NIGHTLY else examples

EDGE_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\ud83d", "\x07\x1b[31m", "\u202eevil\u202c", "\ufeff",
    "\u200b", "\r\n", "\t", "\U0001F4A9" * 300, "\u0301" * 60, "Z" + "\u0308\u0336" * 80, "%s%n%x", "{0}{1}",
    "{{7*7}}", "${7*7}", "<script>alert(1)</script>", "' or 1=1 --", "\\", "null", "NaN", "\uffff",
    "\U0010ffff", "\ufdfa", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T25:61",
    "-1", "1e309", "00000000-0000-0000-0000-000000000000", "x" * 1001, "x" * 5001, "é" * 3000, "x" * 15_000,
]
SURROGATES = st.characters(categories=["Cs"])
TYPE_EDGES = {  # per field type, values just outside what parsers expect
    "DateTime": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00", "9999-12-31T23:59",
                 "2026-02-30T19:00", "2026-03-29T01:30", "2026-10-25T01:30", "20261201T1900", "1e10", "", "T"],
    "Integer": [2**31, 2**62 + 1, 2**63, -(2**63) - 1, 10**30, -1, "1" * 400, "0x10", "1_000", " 7 ", 1.5, True],
    "UUID": ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "{12345678-1234-5678-1234-567812345678}",
             "urn:uuid:12345678-1234-5678-1234-567812345678", "12345678123456781234567812345678" * 2, 1234],
    "Email": ["a@b", "@", "a" * 300 + "@x.org", "\"@\"@x.org", "a@[127.0.0.1]", "a@xn--80ak6aa92e.com"],
}

nasty_text = st.one_of(
    st.sampled_from(EDGE_STRINGS),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=50),
    st.lists(st.one_of(SURROGATES, st.characters()), min_size=1, max_size=10).map("".join),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([2**31, 2**62 + 1, 2**63, 2**64, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True), nasty_text,
)


def _nest(depth: int, as_dict: bool):
    value = None
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


deeply_nested = st.builds(_nest, st.integers(20, 400), st.booleans())
json_values = st.one_of(
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                           st.sampled_from(EDGE_STRINGS[:30])),
                 lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                   max_size=4),
                 max_leaves=12),
    scalars, deeply_nested,
)


# --- valid-looking values from a schema's own declarations ------------------------------------

def _validator(field, kind):
    validators = field.validators if isinstance(field.validators, (list, tuple)) else [field.validators]
    return next((v for v in validators if isinstance(v, kind)), None)


def valid_value(field, name: str, ids: dict[str, list]) -> st.SearchStrategy:
    if name in ids:
        return st.sampled_from(ids[name])
    one_of = _validator(field, validate.OneOf)
    if one_of is not None:
        return st.sampled_from(list(one_of.choices))
    length = _validator(field, validate.Length)
    low = length.min if length and length.min is not None else 0
    high = min(length.max if length and length.max is not None else 200, 300)
    if isinstance(field, fields.UUID):
        return st.uuids().map(str)
    if isinstance(field, fields.Email):
        return st.emails()
    if isinstance(field, fields.DateTime):
        return st.datetimes().map(lambda d: d.isoformat(timespec="minutes"))
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        rng = _validator(field, validate.Range)
        return st.integers(rng.min if rng and rng.min is not None else -10, rng.max if rng and rng.max else 10**6)
    if isinstance(field, fields.List):
        return st.lists(valid_value(field.inner, name, {}), min_size=low, max_size=min(high, 12))
    if isinstance(field, fields.String):
        longest = length.max if length and length.max is not None else 200
        return st.one_of(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=max(low, 1),
                    max_size=max(high, 1)),
            st.sampled_from([max(low, 1), longest]).map(lambda n: "ä" * n))  # the boundaries, 2 bytes a char
    return json_values


def edge_values(field) -> st.SearchStrategy:
    for cls in type(field).__mro__:
        if cls.__name__ in TYPE_EDGES:
            return st.sampled_from(TYPE_EDGES[cls.__name__])
    if isinstance(field, fields.List):
        return st.lists(edge_values(field.inner), max_size=3)
    return st.sampled_from(EDGE_STRINGS)


def payloads(schema: type[Schema], ids: dict[str, list] | None = None) -> st.SearchStrategy:
    """Anything at all; the schema's keys with hostile values; or a payload that should be valid."""
    ids = ids or {}
    declared = {(f.data_key or n): f for n, f in schema().fields.items() if not f.dump_only}
    mixed = {k: st.one_of(valid_value(f, k, ids), edge_values(f), json_values) for k, f in declared.items()}
    valid = {k: valid_value(f, k, ids) for k, f in declared.items()}
    return st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={**mixed, "unexpected": json_values}),
        st.fixed_dictionaries(valid),
    )


def example_value(field, name: str, ids: dict[str, object]):
    """One plausible valid value (for forms the attack matrix submits)."""
    if name in ids:
        return ids[name]
    one_of = _validator(field, validate.OneOf)
    if one_of is not None:
        return list(one_of.choices)[0]
    length = _validator(field, validate.Length)
    low = length.min if length and length.min else 1
    if isinstance(field, fields.UUID):
        return str(uuid.uuid4())
    if isinstance(field, fields.Email):
        return "someone@example.org"
    if isinstance(field, fields.DateTime):
        return "2031-06-01T19:00"
    if isinstance(field, fields.Boolean):
        return True
    if isinstance(field, fields.Integer):
        rng = _validator(field, validate.Range)
        return rng.min if rng and rng.min is not None else 1
    if isinstance(field, fields.List):
        return [example_value(field.inner, name, {}) for _ in range(max(low, 1))]
    return "Example text " + "x" * max(0, low - 13)


# --- discovery ----------------------------------------------------------------------------------

def schema_modules() -> list[str]:
    files = sorted([*ROOT.glob("services/**/schemas.py"), *ROOT.glob("tenants/**/schemas.py")])
    return [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in files]


def all_schemas() -> list[type[Schema]]:
    """Every marshmallow Schema class defined in a schemas.py of services/ or tenants/."""
    found = []
    for name in schema_modules():
        module = importlib.import_module(name)
        found += [obj for obj in vars(module).values()
                  if isinstance(obj, type) and issubclass(obj, Schema) and obj.__module__ == module.__name__]
    return found
