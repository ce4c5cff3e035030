"""The two channels, as Airflow notifiers configured by Airflow connections.

- E-mail: the SMTP provider's ``SmtpNotifier`` on connection ``infra_review_smtp`` (host,
  port, login, password as usual; extra ``{"from_email": "...", "to": "a@x, b@y"}``).
- Telegram: ``telegram_notifier`` below (a ``BaseNotifier``), on connection ``infra_review_telegram`` in the
  Telegram provider's layout (password = bot token, host = chat id); extra ``base_url``
  points the bot at another Bot API server (a local one, or a test's).
No secret lives in the repository: both come from Airflow's connections (the metadata DB,
a secrets backend, or ``AIRFLOW_CONN_INFRA_REVIEW_*`` variables).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

EMAIL_CONN_ID = "infra_review_smtp"
TELEGRAM_CONN_ID = "infra_review_telegram"
DEFAULT_BOT_API = "https://api.telegram.org/bot"


def _telegram_hook(conn_id: str):
    """The Telegram provider's hook, with the Bot API address taken from the connection."""
    import telegram
    from airflow.providers.telegram.hooks.telegram import TelegramHook

    class BotApiHook(TelegramHook):
        def get_conn(self) -> telegram.Bot:
            extra = self.get_connection(conn_id).extra_dejson
            return telegram.Bot(self.token, base_url=extra.get("base_url") or DEFAULT_BOT_API)

    return BotApiHook(telegram_conn_id=conn_id)


def outside_event_loop(call: Callable[[], Any]) -> Any:
    """Run ``call`` where no event loop is running. The Telegram hook sends with
    ``asyncio.run``, which refuses to start inside a running loop (an async caller, or a
    library that left its loop running in this thread): a thread of its own has none."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def telegram_notifier(text: str, telegram_conn_id: str = TELEGRAM_CONN_ID):
    """A notifier that sends ``text`` to the connection's chat; the provider's hook retries
    Bot API errors itself. Built on call, so importing this module needs no Airflow."""
    from airflow.sdk import BaseNotifier

    from infra_review.notify.message import telegram_chunks

    class TelegramNotifier(BaseNotifier):
        template_fields = ("text",)

        def __init__(self, text: str, conn_id: str, **kwargs: Any):
            super().__init__(**kwargs)
            self.text = text
            self.telegram_conn_id = conn_id

        def notify(self, context) -> None:
            hook = _telegram_hook(self.telegram_conn_id)
            for chunk in telegram_chunks(self.text):
                # the hook sends HTML; the text is plain, so escape it
                text = html.escape(chunk, quote=False)
                outside_event_loop(lambda text=text: hook.send_message({"text": text}))

    return TelegramNotifier(text, telegram_conn_id)


def email_notifier(subject: str, text: str, conn_id: str = EMAIL_CONN_ID):
    """The SMTP provider's notifier; recipients and sender come from the connection's extra."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = SmtpHook.get_connection(conn_id).extra_dejson
    to = [a.strip() for a in str(extra.get("to") or "").split(",") if a.strip()]
    if not to:
        raise ValueError(f"connection {conn_id}: extra 'to' names no recipient")
    body = f'<pre style="font-family: sans-serif; white-space: pre-wrap">{html.escape(text)}</pre>'
    return SmtpNotifier(
        to=to,
        from_email=extra.get("from_email"),
        subject=subject,
        html_content=body,
        smtp_conn_id=conn_id,
    )


def connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or no metadata DB / API to ask
        return False
    return True
