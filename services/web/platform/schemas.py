"""Platform console input."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class SignInSchema(_Base):
    email = fields.String(required=True, validate=validate.Length(3, 254),
                          error_messages={"required": "Enter your email address."})
    password = fields.String(required=True, validate=validate.Length(1, 256),
                             error_messages={"required": "Enter your password."})


class StateSchema(_Base):
    action = fields.String(required=True, validate=validate.OneOf(("approve", "suspend", "reactivate", "close"),
                                                                  error="Choose approve, suspend, reactivate or close."))
    plan = fields.String(load_default=None, validate=validate.Length(max=40))


class BillingSchema(_Base):
    billing_email = fields.Email(load_default=None, allow_none=True,
                                 error_messages={"invalid": "Enter an email address like finance@opcc.police.uk."})
    po_number = fields.String(load_default="", validate=validate.Length(max=60, error="Up to 60 characters."))


class InvoiceStatusSchema(_Base):
    status = fields.String(required=True, validate=validate.OneOf(("paid", "void"), error="Choose paid or void."))


class CreditSchema(_Base):
    amount_pence = fields.Integer(required=True, strict=False, validate=validate.Range(1, 10**9, error="Enter a whole number of pence, at least 1."),
                                  error_messages={"required": "Enter the amount to credit in pence.",
                                                  "invalid": "Enter a whole number of pence, like 1500 for £15.00."})
    reason = fields.String(required=True, validate=validate.Length(3, 200, error="Give a reason (3 to 200 characters)."),
                           error_messages={"required": "Give a reason."})


class SearchSchema(_Base):
    q = fields.String(load_default="", validate=validate.Length(max=80))
