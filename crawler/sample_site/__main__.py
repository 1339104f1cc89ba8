"""Serve the bundled sample site in the foreground: ``python -m crawler.sample_site [PORT]``."""

from __future__ import annotations

import sys
import threading

from crawler.sample_site import SampleSite


def main(argv: list[str]) -> None:
    port = int(argv[0]) if argv else 8000
    with SampleSite(port=port) as site:
        print(f"Serving the newsmon sample site on {site.base_url}/ (Ctrl+C to stop)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
