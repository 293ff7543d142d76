"""The requests adapter: ``OfficeRNDSession`` (a requests-oauthlib ``OAuth2Session``),
``OfficeRNDAuth`` (a ``requests.auth.AuthBase``) and the transport that sends the core's token
requests over requests. Imported as ``officernd_auth.OfficeRNDSession`` and
``officernd_auth.OfficeRNDAuth``."""
