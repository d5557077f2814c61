"""Optional sign-in with Streamlit's st.login (OIDC), on when [auth] is set in secrets.

With sign-in configured, nothing (not even the demo data or the page list) is shown before the
user signs in with the identity provider; without it the app is open to whoever can reach the
server, which by default listens on localhost only."""

from __future__ import annotations

import streamlit as st


def sign_in_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file
        return False


def require_sign_in() -> None:
    if not sign_in_configured() or st.user.get("is_logged_in", False):
        if sign_in_configured():
            st.sidebar.caption(
                f"Signed in as {st.user.get('email') or st.user.get('name') or 'user'}"
            )
            st.sidebar.button("Sign out", on_click=st.logout, key="sign_out")
        return
    st.title("DPN · MSC outcomes")
    st.info("Sign in to see the outcome data.")
    st.button("Sign in", on_click=st.login, type="primary", key="sign_in")
    st.stop()
