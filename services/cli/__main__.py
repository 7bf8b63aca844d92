"""``python -m services.cli``: the same as the ``ioc`` console script."""

import sys

from services.cli.main import main

sys.exit(main())
