"""Fault-injection suite: real crawls against misbehaving local servers (issue 8)."""
