using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Hosting;
using Akka.Remote.Transport.DotNetty;

namespace VslsActors.Cluster.Hosting;

/// <summary>
/// Member-to-member TLS (docs/tls.md): the certificate this member presents, with its private key,
/// and the CA certificates whose leaf certificates it accepts from other members.
/// </summary>
/// <param name="Certificate">This member's certificate with its private key; it is both the server
/// certificate (inbound connections) and the client certificate (outbound connections).</param>
/// <param name="TrustedCas">The trust roots: a peer is accepted only when its certificate chains to one
/// of these (the machine's own trust store plays no part).</param>
public sealed record VslsTlsOptions(X509Certificate2 Certificate, X509Certificate2Collection TrustedCas)
{
    /// <summary>The peers this member refused, latest last (for the exit line of <c>vsls node</c>).</summary>
    public TlsRefusals Refusals { get; } = new();
}

/// <summary>
/// The last peer certificate this member refused, and why: Akka.Remote stops a member whose outbound
/// handshake fails, and its exit line then says which certificate and why without depending on the log
/// reaching the console before the process ends.
/// </summary>
public sealed class TlsRefusals
{
    private volatile string? _last;

    /// <summary>The latest refusal as one line, or null when none happened.</summary>
    public string? Last => _last;

    internal void Add(string line) => _last = line;
}

/// <summary>
/// How TLS is put on Akka.Remote's DotNetty transport, and the check every peer certificate goes through.
/// </summary>
/// <remarks>
/// Read from Akka.Remote 1.5.73 (the package this project restores; the 1.5.30 sources differ):
/// <list type="bullet">
/// <item><c>DotNettyTransport.SetServerPipeline</c>: with <c>require-mutual-authentication = true</c>
/// (the 1.5.73 default) the server side asks for a client certificate and refuses a connection
/// without one; both sides pass the peer's certificate to <c>SslSettings.CustomValidator</c> when it is
/// set, otherwise to <c>CertificateValidation.ValidateChain</c>, which trusts the machine's store.</item>
/// <item><c>CertificateValidationCallback(cert, chain, peer, errors, log)</c> is Akka's delegate; the
/// <c>errors</c> are .NET's verdict against the machine's store, so a private CA always shows
/// <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/> there: the chain is rebuilt here against
/// <see cref="VslsTlsOptions.TrustedCas"/> only (<see cref="X509ChainTrustMode.CustomRootTrust"/>).</item>
/// <item>Akka.Remote.Hosting's <c>RemoteOptions.Ssl</c> (<c>SslOptions.X509Certificate</c>,
/// <c>RequireMutualAuthentication</c>, <c>CustomValidator</c>) becomes a <c>DotNettySslSetup</c> and
/// <c>enable-ssl = true</c>; the address scheme turns to <c>akka.ssl.tcp</c>.</item>
/// <item>A handshake that fails is logged by Akka ("TLS handshake failed for …") and the association
/// is refused; the refused side retries after <c>retry-gate-closed-for</c>, never joining.</item>
/// </list>
/// </remarks>
public static class VslsTls
{
    /// <summary>Akka address scheme with TLS on.</summary>
    public const string TlsScheme = "akka.ssl.tcp";

    /// <summary>Akka address scheme without TLS.</summary>
    public const string PlainScheme = "akka.tcp";

    /// <summary>The remote options that turn TLS on for this member (mutual TLS, the CA check below).</summary>
    public static RemoteOptions RemoteOptions(string host, int port, VslsTlsOptions tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        return new RemoteOptions
        {
            HostName = host,
            Port = port,
            EnableSsl = true,
            Ssl = new SslOptions
            {
                X509Certificate = tls.Certificate,
                SuppressValidation = false,
                // Both ends present a certificate: a member that cannot show one from the CA cannot join.
                RequireMutualAuthentication = true,
                // Akka's own host check would compare against nothing on the inbound side; the
                // validator below checks the dialled host on outbound connections instead.
                ValidateCertificateHostname = false,
                CustomValidator = Validator(tls.TrustedCas, tls.Refusals),
            },
        };
    }

    /// <summary>
    /// Accepts a peer whose certificate chains to one of <paramref name="trustedCas"/>, is within its
    /// validity period now, and (on outbound connections, where .NET knows the dialled host) names that
    /// host in its SAN or CN. Every refusal is logged with the peer and the reason.
    /// </summary>
    public static CertificateValidationCallback Validator(X509Certificate2Collection trustedCas, TlsRefusals? refusals = null)
    {
        ArgumentNullException.ThrowIfNull(trustedCas);
        var roots = new X509Certificate2Collection(trustedCas);
        return (certificate, chain, peer, errors, log) =>
        {
            string? refusal = null;
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
                refusal = "it presented no certificate";
            else if (ChainProblem(certificate, roots, DateTime.UtcNow, chain) is { } problem)
                refusal = $"certificate '{certificate.Subject}' (issuer '{certificate.Issuer}', thumbprint {certificate.Thumbprint}) is not trusted: {problem}";
            // .NET sets the name mismatch only where it knows the host: on the client side (the host
            // of the address dialled); a server never learns a host name for its clients.
            else if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                refusal = $"certificate '{certificate.Subject}' does not name the host dialled (its SAN must hold the member's host)";
            if (refusal is null)
                return true;
            log.Warning("TLS: refused {Peer}: {Refusal}", peer, refusal);
            refusals?.Add($"refused {peer}: {refusal}");
            return false;
        };
    }

    /// <summary>
    /// Why <paramref name="certificate"/> does not chain to one of <paramref name="trustedCas"/> at
    /// <paramref name="at"/> (one line), or null when it does. <paramref name="presented"/> is the chain
    /// the peer sent, whose intermediates are used; revocation is not checked (docs/tls.md).
    /// </summary>
    public static string? ChainProblem(X509Certificate2 certificate, X509Certificate2Collection trustedCas, DateTime at, X509Chain? presented = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedCas);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustedCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        if (chain.Build(certificate))
            return null;
        var reasons = chain.ChainStatus
            .Where(s => s.Status != X509ChainStatusFlags.NoError)
            .Select(s => string.IsNullOrWhiteSpace(s.StatusInformation) ? s.Status.ToString() : s.StatusInformation.ReplaceLineEndings(" ").Trim())
            .Distinct()
            .ToArray();
        return reasons.Length == 0 ? "the chain does not end in a trusted CA" : string.Join("; ", reasons);
    }
}
