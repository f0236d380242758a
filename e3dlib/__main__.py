"""`python -m e3dlib <command>`: the command line (`e3dlib.cli.main`), exiting with its code."""

import sys

from .cli import main

sys.exit(main())
