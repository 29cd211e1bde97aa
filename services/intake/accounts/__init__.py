"""Intake's identity (F13), a bounded context of its own: `domain` (users, password hashes, the login lockout;
plain Python) and `app` (login and logout routes, the session cookies, the home page)."""
