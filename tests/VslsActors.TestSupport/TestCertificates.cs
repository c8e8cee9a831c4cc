using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VslsActors.TestSupport;

/// <summary>
/// Certificates made at test time (no binary fixtures in git): a CA, leaf certificates it issues for
/// members (SAN = their host), and the file forms <c>vsls node</c> reads (PKCS#12, PEM certificate and
/// key, encrypted PEM key, CA PEM).
/// </summary>
public static class TestCertificates
{
    /// <summary>A self-signed CA certificate (with its key) valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>.</summary>
    public static X509Certificate2 CreateCa(string subject = "CN=VSLS test CA", DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(notBefore ?? DateTimeOffset.UtcNow.AddDays(-30), notAfter ?? DateTimeOffset.UtcNow.AddYears(1));
    }

    /// <summary>
    /// A member certificate issued by <paramref name="ca"/>, with its private key, for <paramref name="host"/>
    /// (an IP address or DNS name in the SAN), usable as TLS server and client certificate.
    /// </summary>
    public static X509Certificate2 IssueMember(X509Certificate2 ca, string memberName, string host = "127.0.0.1",
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={memberName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // serverAuth, clientAuth
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host, out var ip))
            san.AddIpAddress(ip);
        else
            san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        var from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(30);
        // A certificate may not outlive its issuer (.NET refuses to create one).
        if (to > ca.NotAfter)
            to = ca.NotAfter;
        if (from < ca.NotBefore)
            from = ca.NotBefore;
        using var issued = request.Create(ca, from, to, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <paramref name="certificate"/> with its key as PKCS#12 protected by <paramref name="password"/>.</summary>
    public static string WritePfx(X509Certificate2 certificate, string path, string? password)
    {
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    /// <summary>Writes the certificate alone (no key) as PEM.</summary>
    public static string WriteCertificatePem(X509Certificate2 certificate, string path)
    {
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>Writes the private key as PEM (PKCS#8), encrypted with <paramref name="password"/> when given.</summary>
    public static string WriteKeyPem(X509Certificate2 certificate, string path, string? password = null)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA key");
        var pem = password is null
            ? key.ExportPkcs8PrivateKeyPem()
            : key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000));
        File.WriteAllText(path, pem + "\n");
        return path;
    }
}
