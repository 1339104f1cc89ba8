"""newsmon's read-only web app and JSON API (``newsmon serve``): FastAPI over the Store API.

:func:`web.app.create_app` builds the application from a :class:`~storage.store.Store` and the
settings; :func:`web.server.serve` checks the address and the access secret, then runs it with
uvicorn. Nothing here writes to the database.
"""
