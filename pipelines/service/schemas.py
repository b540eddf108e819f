"""Request bodies as pydantic models: the JSON bodies of the API and the account / user-administration forms.

A body of the wrong shape (a JSON array or a string where an object is expected, a number where text is, a
missing required field, JSON that does not parse) is answered 422 with ``{"error": "invalid_body",
"message": …, "detail": [{"loc", "msg", "type"}, …]}`` (``app.py``), never 500.

The free-text fields the portal itself requires — a decision's ``comment``, an acknowledgement's or a
withdrawal's ``reason`` — default to empty, so that leaving them out gets the portal's own, translated 400
(``err_comment_required``, ``err_reason_required``, ``err_withdraw_reason``) as before; what says *what* to do
(``decision``, ``rules``) is required.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# a database row id (users, API tokens): a whole number the id columns (SQL INTEGER, 32 bits on PostgreSQL) can
# hold. "1e23", "abc", -1 or 10**23 is answered 422 naming the field, never handed to the database (SQLite raised
# OverflowError, PostgreSQL a DataError: 500)
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=0, le=MAX_ID)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=100_000)


class AcknowledgeBody(Body):
    """``POST /api/submissions/<id>/acknowledge``: failing warn rules and why they are acceptable."""

    rules: list[str] = Field(max_length=500)
    reason: str = ""


class DecisionBody(Body):
    """``POST /api/submissions/<id>/decision``: ``approve`` or ``reject`` (anything else: 400 err_bad_decision)."""

    decision: str
    comment: str = ""


class WithdrawBody(Body):
    """``POST /api/submissions/<id>/withdraw`` (the body may be left out: then 400 err_withdraw_reason)."""

    reason: str = ""


# forms (application/x-www-form-urlencoded) ---------------------------------------------------------------------
class AccountForm(Body):
    """``POST /account``: the preferred language (anything but en/es/pt/fr clears it)."""

    lang: str = ""


class TokenForm(Body):
    """``POST /account/tokens``."""

    name: str = "token"


class UserAdminForm(Body):
    """``POST /admin/users``: ``action`` create (username, password, role, country_iso3, lang) or, for
    ``user_id``, deactivate / activate / password / role (role, country_iso3)."""

    action: str = "create"
    username: str = ""
    password: str = ""
    role: str = ""
    country_iso3: str = ""
    lang: str = ""
    user_id: RowId = 0
