"""The staff dashboard and its JSON API (``/dashboard/``), read from rollups only."""
