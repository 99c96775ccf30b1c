"""``python -m hrtem`` is the ``hrtem`` command."""

from hrtem.cli import main

raise SystemExit(main())
