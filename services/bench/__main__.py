"""``python -m services.bench``: run the benchmark (``make bench``).

Settings come from the ``IOC_BENCH_*`` environment (see :mod:`services.bench.config`).
"""

import sys

from services.bench.run import main

__all__: list[str] = []

sys.exit(main())
