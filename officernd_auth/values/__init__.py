"""The values every part of officernd-auth shares, and nothing that acts: the token, the errors,
time bounds, URLs, the shared record format, the ``OFFICERND_*`` environment and the secret's
wrapper. No HTTP library, no token cache, no I/O beyond reading the environment."""
