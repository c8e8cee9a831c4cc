using Akka.Configuration;
using VslsActors.Cluster.Tests.Persistence;
using VslsActors.Cluster.VirtualSystems;

namespace VslsActors.Cluster.Tests.VirtualSystems;

public sealed class VirtualSystemSettingsTests
{
    [Fact]
    public void Vsls_conf_holds_the_documented_defaults()
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(VslsPersistenceTests.RepoFile("hocon/vsls.conf")));
        Assert.Equal(VirtualSystemSettings.Default, VirtualSystemSettings.FromConfig(config));
    }

    [Fact]
    public void Keys_override_the_defaults_one_by_one()
    {
        var settings = VirtualSystemSettings.FromConfig(ConfigurationFactory.ParseString(
            "vsls.virtual-system { checkpoint-every-deltas = 10, passivate-after = 250ms, journal-retry-max = 1s }"));
        Assert.Equal(10, settings.CheckpointEveryDeltas);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.PassivateAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.JournalRetryMax);
        Assert.Equal(VirtualSystemSettings.Default.SweepInterval, settings.SweepInterval);
    }

    [Fact]
    public void A_missing_section_gives_the_defaults()
    {
        Assert.Equal(VirtualSystemSettings.Default, VirtualSystemSettings.FromConfig(ConfigurationFactory.Empty));
    }

    [Theory]
    [InlineData("checkpoint-every-deltas = 0", "vsls.virtual-system.checkpoint-every-deltas must be >= 1")]
    [InlineData("passivate-after = 0s", "vsls.virtual-system.passivate-after must be a positive duration")]
    [InlineData("journal-retry-min = 2s, journal-retry-max = 1s", "vsls.virtual-system.journal-retry-max must be >= journal-retry-min")]
    public void A_value_out_of_range_names_its_key(string hocon, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            VirtualSystemSettings.FromConfig(ConfigurationFactory.ParseString($"vsls.virtual-system {{ {hocon} }}")));
        Assert.StartsWith(expected, e.Message);
    }
}
