"""``python -m rucksack.exchange.gateway``: one gateway process (started by ``rucksack serve``)."""

import os
import sys
from pathlib import Path

from rucksack.exchange.native import use_compiled

if __name__ == "__main__":
    native = os.environ.get("RUCKSACK_NATIVE")
    use_compiled(Path(native) if native else None)  # the same core as the sequencer, before any import of it
    from rucksack.exchange.gateway.process import main

    sys.exit(main())
