"""The httpx adapter: ``OfficeRNDAuth`` (an ``httpx.Auth``), ``OfficeRNDClient`` and
``AsyncOfficeRNDClient``, and the transport that sends the core's token requests over httpx, on
the caller's event loop when async. Imported from :mod:`officernd_auth.httpx`; it imports no
requests."""
