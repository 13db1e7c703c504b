"""`python -m ebdemo.emulator --port 0 --state-file F`: the emulator in the foreground."""

import sys

from ebdemo.emulator.server import main

sys.exit(main())
