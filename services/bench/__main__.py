"""``python -m services.bench``: run the benchmark (``make bench``)."""

import sys

from services.bench.run import main

sys.exit(main())
