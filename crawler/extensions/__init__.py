"""Scrapy extensions of newsmon."""
