"""The BI and UI surface: the ``reporting`` schema's reference data, its generated docs, the
decisions page's HTML and the safe serving of review reports.

Nothing here imports Airflow: the plugin under ``plugins/`` calls these functions.
"""
