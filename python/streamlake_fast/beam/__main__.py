from streamlake_fast.beam.pipeline import main

main()
