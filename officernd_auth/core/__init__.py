"""The core: everything officernd-auth decides, over no HTTP library.

The provider and its fetch loop (freshness, single flight, the budget, retries, deadlines), the
token exchange as data (:mod:`~officernd_auth.core.exchange`), the settings and scopes, the rules
for the token's destinations and the API's 429, short paths and pagination. The HTTP adapters
(``requests_adapter``, ``httpx_adapter``) only send bytes and read bytes for it.
"""
