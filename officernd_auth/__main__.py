"""``python -m officernd_auth``: the same as the ``officernd-auth`` command."""

import sys

from .cli.quick import main

sys.exit(main())
