"""The ``officernd-auth`` command: :mod:`~officernd_auth.cli.quick` answers a cached token
without importing the rest; :mod:`~officernd_auth.cli.main` parses every command and
:mod:`~officernd_auth.cli.commands` runs them; :mod:`~officernd_auth.cli.demo` is the demo."""
