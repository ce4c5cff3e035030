"""The notification text: both languages, every decision, the link; split for Telegram."""

from __future__ import annotations

from infra_review.notify.message import Notice, build_message, telegram_chunks


def _notices():
    return [
        Notice(
            "decision",
            7,
            "2026Q3",
            "app-1",
            "upgrade_ram",
            "RAM above 85% for 30 h; needs 32 GB (plan vps-32g, +20 EUR/month).",
            "ОЗУ выше 85% 30 ч; нужно 32 ГБ (тариф vps-32g, +20 EUR/мес).",
            ["upgrade_ram", "upgrade_cpu"],
            "watch",
        ),
        Notice(
            "not_confirmed",
            3,
            "2026Q2",
            "db-1",
            "upgrade_cpu",
            "4 cores (was 4)",
            "4 ядер (было 4)",
        ),
    ]


def test_one_message_in_russian_then_english_with_every_decision_and_the_link():
    m = build_message("capacity", "2026Q3", 12, _notices(), "http://ui/report.html")
    assert m.subject == (
        "[infra-review] 2026Q3 capacity: 1 to act on, 1 not confirmed / "
        "1 к действию, 1 не подтверждено"
    )
    ru, en = m.text.split("\n\n")
    assert ru.startswith("Обзор мощности 2026Q3 (запуск 12)")
    assert "- #7 app-1: upgrade_ram + upgrade_cpu (было watch). ОЗУ выше 85%" in ru
    assert "- #3 db-1 upgrade_cpu (2026Q2): 4 ядер (было 4)" in ru
    assert ru.endswith("Отчёт: http://ui/report.html")
    assert en.startswith("Capacity review 2026Q3 (run 12)")
    assert "- #7 app-1: upgrade_ram + upgrade_cpu (was watch). RAM above 85%" in en
    assert "Not confirmed by the data:\n- #3 db-1 upgrade_cpu (2026Q2): 4 cores (was 4)" in en
    assert en.endswith("Report: http://ui/report.html")


def test_nothing_to_say_means_no_message():
    assert build_message("provider", "2026Q3", 1, [], None) is None


def test_telegram_chunks_fit_the_limit_and_keep_every_character():
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200)) + "\n" + "y" * 130
    chunks = telegram_chunks(text, limit=100)
    assert all(len(c) <= 100 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    assert telegram_chunks("short") == ["short"]
