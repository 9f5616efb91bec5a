"""The worker's agents: each reads one input, runs its pipeline step, delivers the outputs,
and only then lets its input be committed."""
