"""What every process needs once: signal handling, its share of the CPU threads, quiet library
defaults, and the run_main wrapper that turns errors into one line and an exit code."""
