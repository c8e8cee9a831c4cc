// Members are real processes on a 2-core machine: one spec at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
