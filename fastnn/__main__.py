"""``python -m fastnn``: the ``fastnn`` command line (see :mod:`fastnn.cli`)."""
from fastnn.cli import main

raise SystemExit(main())
