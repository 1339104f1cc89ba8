"""Watchlists and alerts: matching stored articles, once per story, and delivering alerts."""
