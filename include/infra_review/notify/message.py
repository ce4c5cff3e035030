"""What a review's notification says, in Russian and English (pure: no channel, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TELEGRAM_LIMIT = 4096  # characters in one Bot API sendMessage

TYPE_RU = {"capacity": "мощности", "provider": "провайдер"}


@dataclass(frozen=True)
class Notice:
    """One line of the message: a decision that asks for action, or a not-confirmed one."""

    kind: str  # "decision" (created or changed) | "not_confirmed"
    decision_id: int
    quarter: str
    subject: str
    decision: str
    text_en: str
    text_ru: str
    actions: list[str] = field(default_factory=list)
    previous: str | None = None  # the decision it replaced, when changed


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # both languages, plain text (Telegram and the e-mail's body)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "text": self.text}


def build_message(
    review_type: str, quarter: str, run_id: int, notices: list[Notice], report_url: str | None
) -> Message | None:
    """None when nothing asks for attention; else one message with every notice, RU then EN."""
    if not notices:
        return None
    actions = [n for n in notices if n.kind == "decision"]
    failed = [n for n in notices if n.kind == "not_confirmed"]
    subject = (
        f"[infra-review] {quarter} {review_type}: {len(actions)} to act on, "
        f"{len(failed)} not confirmed / {len(actions)} к действию, {len(failed)} не подтверждено"
    )
    ru = [f"Обзор {TYPE_RU.get(review_type, review_type)} {quarter} (запуск {run_id})"]
    en = [f"{review_type.capitalize()} review {quarter} (run {run_id})"]
    if actions:
        ru.append("Решения, требующие действий:")
        en.append("Decisions that ask for action:")
        for n in actions:
            what = " + ".join(n.actions or [n.decision])
            was_ru = f" (было {n.previous})" if n.previous else ""
            was_en = f" (was {n.previous})" if n.previous else ""
            ru.append(f"- #{n.decision_id} {n.subject}: {what}{was_ru}. {n.text_ru}")
            en.append(f"- #{n.decision_id} {n.subject}: {what}{was_en}. {n.text_en}")
    if failed:
        ru.append("Не подтверждены данными:")
        en.append("Not confirmed by the data:")
        for n in failed:
            ru.append(f"- #{n.decision_id} {n.subject} {n.decision} ({n.quarter}): {n.text_ru}")
            en.append(f"- #{n.decision_id} {n.subject} {n.decision} ({n.quarter}): {n.text_en}")
    link = report_url or "-"
    ru.append(f"Отчёт: {link}")
    en.append(f"Report: {link}")
    text = "\n".join(ru) + "\n\n" + "\n".join(en)
    return Message(subject, text)


def telegram_chunks(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split at line ends so each piece fits one sendMessage (a long line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
