"""newsmon: scheduled news monitoring for defence and trade news."""

__version__ = "0.1.0"
