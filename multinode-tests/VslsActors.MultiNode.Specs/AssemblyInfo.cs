// Members are real processes and the network lab changes the machine's network: one spec at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
