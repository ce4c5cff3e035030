"""Quarterly hosting-provider review (seed 02.04.04, "Бизнес-критерии миграции провайдера").

Modules: ``model`` (providers.yaml), ``money`` (exchange rates), ``imports`` (invoices, rates,
tickets), ``criteria`` (the twelve pure criterion functions), ``scorecard`` (scores and the
recommendation), ``store`` (PostgreSQL reads and the scorecard table), ``review``
(``run_provider_review``, shared by the CLI and the DAG) and ``report`` (Markdown and chart).
"""
