import sys

from streamlake_fast.cli import main

sys.exit(main())
