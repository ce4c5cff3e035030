"""Helpers every test suite shares: free loopback ports and waiting (``net``), databases by
URL (``db``), and the bundled sample quarter loaded into a database (``sample_quarter``)."""
