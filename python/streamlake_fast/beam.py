"""The public name of the Apache Beam transforms (:mod:`streamlake_fast.runtimes.beam`, extra ``[beam]``);
``python -m streamlake_fast.beam`` runs the pipeline (:mod:`streamlake_fast.runtimes.beam.pipeline`)."""

from streamlake_fast.runtimes.beam import *  # noqa: F403 (the runtime's names, as they are)
from streamlake_fast.runtimes.beam import __all__ as _names
from streamlake_fast.runtimes.beam.pipeline import main

__all__ = [*_names, "main"]

if __name__ == "__main__":
    main()
