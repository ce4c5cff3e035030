"""Infrastructure review pipeline: the domain package, usable without Airflow."""

__version__ = "0.1.0"
