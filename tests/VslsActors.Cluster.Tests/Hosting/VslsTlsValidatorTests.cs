using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using VslsActors.Cluster.Hosting;
using VslsActors.TestSupport;

namespace VslsActors.Cluster.Tests.Hosting;

/// <summary>The check every peer certificate goes through on a TLS connection between members.</summary>
public sealed class VslsTlsValidatorTests
{
    private const string Peer = "ssl.tcp://vsls@127.0.0.1:4053";

    [Fact]
    public void A_certificate_from_the_trusted_ca_is_accepted_even_though_the_machine_store_does_not_know_the_ca()
    {
        using var ca = TestCertificates.CreateCa();
        using var member = TestCertificates.IssueMember(ca, "member-1");
        var validator = VslsTls.Validator([ca]);
        Assert.True(validator(member, null, Peer, SslPolicyErrors.RemoteCertificateChainErrors, NoLogger.Instance));
    }

    [Fact]
    public void A_certificate_from_another_ca_with_the_same_name_is_refused()
    {
        using var ca = TestCertificates.CreateCa("CN=same name");
        using var other = TestCertificates.CreateCa("CN=same name");
        using var member = TestCertificates.IssueMember(other, "member-1");
        var refusals = new TlsRefusals();
        Assert.False(VslsTls.Validator([ca], refusals)(member, null, Peer, SslPolicyErrors.None, NoLogger.Instance));
        Assert.NotNull(VslsTls.ChainProblem(member, [ca], DateTime.UtcNow));
        Assert.StartsWith($"refused {Peer}: certificate 'CN=member-1'", refusals.Last);
    }

    [Fact]
    public void A_certificate_that_expired_while_the_member_ran_is_refused()
    {
        using var ca = TestCertificates.CreateCa();
        using var member = TestCertificates.IssueMember(ca, "member-1", notBefore: DateTimeOffset.UtcNow.AddDays(-3), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        Assert.False(VslsTls.Validator([ca])(member, null, Peer, SslPolicyErrors.None, NoLogger.Instance));
        Assert.Null(VslsTls.ChainProblem(member, [ca], DateTime.UtcNow.AddDays(-2)));
    }

    [Fact]
    public void A_server_certificate_that_does_not_name_the_dialled_host_is_refused()
    {
        using var ca = TestCertificates.CreateCa();
        using var member = TestCertificates.IssueMember(ca, "member-1", host: "member-1");
        var validator = VslsTls.Validator([ca]);
        Assert.False(validator(member, null, Peer, SslPolicyErrors.RemoteCertificateNameMismatch, NoLogger.Instance));
    }

    [Fact]
    public void A_peer_without_a_certificate_is_refused()
    {
        using var ca = TestCertificates.CreateCa();
        Assert.False(VslsTls.Validator([ca])(null, null, Peer, SslPolicyErrors.RemoteCertificateNotAvailable, NoLogger.Instance));
    }

    [Fact]
    public void The_remote_options_turn_on_mutual_tls_with_the_validator()
    {
        using var ca = TestCertificates.CreateCa();
        using var member = TestCertificates.IssueMember(ca, "member-1");
        var remote = VslsTls.RemoteOptions("127.0.0.1", 4053, new VslsTlsOptions(member, new X509Certificate2Collection(ca)));
        Assert.True(remote.EnableSsl);
        Assert.True(remote.Ssl!.RequireMutualAuthentication);
        Assert.False(remote.Ssl.SuppressValidation);
        Assert.NotNull(remote.Ssl.CustomValidator);
        Assert.Same(member, remote.Ssl.X509Certificate);
    }
}
