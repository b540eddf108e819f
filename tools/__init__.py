"""Development tools, outside the runtime package: benchmarks, reference-table builders, the member-state
template generator, the served-portal launcher of tests and benchmarks, the warehouse comparison."""
