"""``python -m course.cli``: the ``course`` command without the installed script."""
import sys

from course.cli import main

sys.exit(main())
