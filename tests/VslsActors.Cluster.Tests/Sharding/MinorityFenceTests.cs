using VslsActors.Cluster.Sharding;

namespace VslsActors.Cluster.Tests.Sharding;

public sealed class MinorityFenceTests
{
    [Fact]
    public void Only_a_strict_minority_is_fenced_so_the_half_that_keep_majority_keeps_on_an_even_split_runs_on()
    {
        Assert.True(MinorityFence.IsMinority(reachable: 1, members: 3));  // the 1 of a 2 | 1 partition
        Assert.False(MinorityFence.IsMinority(reachable: 2, members: 3)); // the 2 of it
        Assert.False(MinorityFence.IsMinority(reachable: 3, members: 3)); // no partition
        Assert.False(MinorityFence.IsMinority(reachable: 2, members: 4)); // even split: the resolver picks the side
        Assert.True(MinorityFence.IsMinority(reachable: 2, members: 5));
        Assert.False(MinorityFence.IsMinority(reachable: 1, members: 1)); // a one-member cluster
        Assert.False(MinorityFence.IsMinority(reachable: 0, members: 0)); // not yet in a cluster
    }
}
