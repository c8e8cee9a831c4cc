using System.Security.Cryptography.X509Certificates;
using VslsActors.Node;
using VslsActors.TestSupport;

namespace VslsActors.Cli.Tests;

/// <summary>
/// A member given bad TLS files stops before Akka starts, with one line naming the option and the file
/// (exit 2); good files in every accepted form load. Certificates are made here, in a temp folder.
/// </summary>
public sealed class TlsPreflightTests : IDisposable
{
    private const string Password = "pfx-s3cret";
    private readonly TempDirectory _dir = new("tls");
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa();
    private readonly string _caFile;
    private readonly string _passwordFile;

    public TlsPreflightTests()
    {
        _caFile = TestCertificates.WriteCertificatePem(_ca, _dir.File("ca.crt"));
        _passwordFile = _dir.File("password");
        File.WriteAllText(_passwordFile, Password + "\n");
    }

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    private static async Task<CliRun.Result> NodeAsync(params string[] tls) =>
        await CliRun.InProcessAsync(["node", "--topology", CliRun.SampleTopologyFile(), "--port", "0", "--ingress", "off", "--api", "off", .. tls]);

    private static void AssertRefused(CliRun.Result r, params string[] expected)
    {
        Assert.Equal(NodeExitCodes.BadInput, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("vsls node: tls: ", line);
        foreach (var e in expected)
            Assert.Contains(e, line);
        Assert.DoesNotContain("   at ", r.Error);
    }

    private string MemberPfx(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, X509Certificate2? ca = null)
    {
        using var cert = TestCertificates.IssueMember(ca ?? _ca, "member-1", notBefore: notBefore, notAfter: notAfter);
        return TestCertificates.WritePfx(cert, _dir.File(name), Password);
    }

    [Fact]
    public async Task A_missing_certificate_file_is_named_with_its_option()
    {
        var missing = _dir.File("nope.pfx");
        var r = await NodeAsync("--tls-cert", missing, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{missing}' does not exist");
    }

    [Fact]
    public async Task An_unreadable_certificate_path_is_named_with_its_option()
    {
        // A directory cannot be read as a file, whoever runs the test (root reads any mode-000 file).
        var directory = Directory.CreateDirectory(_dir.File("a-directory.pfx")).FullName;
        var r = await NodeAsync("--tls-cert", directory, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{directory}' is a directory");
    }

    [Fact]
    public async Task An_expired_certificate_is_refused_with_its_end_date()
    {
        var pfx = MemberPfx("expired.pfx", DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-2));
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", _passwordFile, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{pfx}'", "expired on");
    }

    [Fact]
    public async Task A_certificate_not_yet_valid_is_refused()
    {
        var pfx = MemberPfx("future.pfx", DateTimeOffset.UtcNow.AddDays(2), DateTimeOffset.UtcNow.AddDays(20));
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", _passwordFile, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{pfx}'", "is not valid before");
    }

    [Fact]
    public async Task A_certificate_without_private_key_is_refused()
    {
        using var cert = TestCertificates.IssueMember(_ca, "member-1");
        var pem = TestCertificates.WriteCertificatePem(cert, _dir.File("no-key.crt"));
        var r = await NodeAsync("--tls-cert", pem, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{pem}' has no private key");
    }

    [Fact]
    public async Task A_wrong_pfx_password_is_refused()
    {
        var pfx = MemberPfx("member.pfx");
        var wrong = _dir.File("wrong-password");
        await File.WriteAllTextAsync(wrong, "not-it\n");
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", wrong, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{pfx}'", "wrong or missing password");
    }

    [Fact]
    public async Task A_wrong_password_for_an_encrypted_pem_key_is_refused()
    {
        using var cert = TestCertificates.IssueMember(_ca, "member-1");
        var crt = TestCertificates.WriteCertificatePem(cert, _dir.File("member.crt"));
        var key = TestCertificates.WriteKeyPem(cert, _dir.File("member.key"), "right");
        var r = await NodeAsync("--tls-cert", crt, "--tls-key", key, "--tls-password-file", _passwordFile, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-key", $"'{key}'", "cannot decrypt");
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused_before_start()
    {
        using var otherCa = TestCertificates.CreateCa("CN=VSLS test CA");
        var pfx = MemberPfx("other.pfx", ca: otherCa);
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", _passwordFile, "--tls-ca", _caFile);
        AssertRefused(r, "option --tls-cert", $"'{pfx}'", $"is not issued by a CA in option --tls-ca '{_caFile}'");
    }

    [Fact]
    public async Task A_certificate_without_a_ca_is_refused()
    {
        var pfx = MemberPfx("member.pfx");
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", _passwordFile);
        AssertRefused(r, "option --tls-cert", "without a CA");
    }

    [Fact]
    public async Task A_missing_ca_file_is_named_with_its_option()
    {
        var pfx = MemberPfx("member.pfx");
        var missing = _dir.File("no-ca.crt");
        var r = await NodeAsync("--tls-cert", pfx, "--tls-password-file", _passwordFile, "--tls-ca", missing);
        AssertRefused(r, "option --tls-ca", $"'{missing}' does not exist");
    }

    [Fact]
    public void Every_accepted_form_loads_with_its_key()
    {
        using var cert = TestCertificates.IssueMember(_ca, "member-1");
        var pfx = TestCertificates.WritePfx(cert, _dir.File("m.pfx"), Password);
        var crt = TestCertificates.WriteCertificatePem(cert, _dir.File("m.crt"));
        var key = TestCertificates.WriteKeyPem(cert, _dir.File("m.key"));
        var encryptedKey = TestCertificates.WriteKeyPem(cert, _dir.File("m.enc.key"), Password);
        var combined = _dir.File("m.pem");
        File.WriteAllText(combined, File.ReadAllText(crt) + File.ReadAllText(key));
        TlsFile F(string path, string option) => new(path, "option " + option);
        var ca = F(_caFile, "--tls-ca");
        var forms = new[]
        {
            new TlsFiles { Certificate = F(pfx, "--tls-cert"), Password = Password, Ca = ca },
            new TlsFiles { Certificate = F(pfx, "--tls-cert"), PasswordFile = F(_passwordFile, "--tls-password-file"), Ca = ca },
            new TlsFiles { Certificate = F(crt, "--tls-cert"), Key = F(key, "--tls-key"), Ca = ca },
            new TlsFiles { Certificate = F(crt, "--tls-cert"), Key = F(encryptedKey, "--tls-key"), Password = Password, Ca = ca },
            new TlsFiles { Certificate = F(combined, "--tls-cert"), Ca = ca },
        };
        foreach (var files in forms)
        {
            var tls = NodePreflight.LoadTls(files, DateTime.UtcNow);
            Assert.NotNull(tls);
            Assert.True(tls.Certificate.HasPrivateKey);
            Assert.Equal(cert.Thumbprint, tls.Certificate.Thumbprint);
            Assert.Equal(_ca.Thumbprint, Assert.Single(tls.TrustedCas).Thumbprint);
        }
        Assert.Null(NodePreflight.LoadTls(new TlsFiles(), DateTime.UtcNow));
        Assert.DoesNotContain(Password, forms[0].ToString());
    }

    [Fact]
    public async Task Dry_run_prints_the_tls_settings_and_the_ssl_seed_scheme_without_reading_files()
    {
        var r = await CliRun.InProcessAsync("node", "--dry-run", "--member", "member-2", "--seeds", "member-1:4053",
            "--tls-cert", "/nowhere/member-2.pfx", "--tls-ca", "/nowhere/ca.crt", "--api-token", "ops:do-not-print-me");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(tokens: ops)", r.Output);
        Assert.DoesNotContain("do-not-print-me", r.Output);
        Assert.Contains("seeds: akka.ssl.tcp://vsls@member-1:4053", r.Output);
        Assert.Contains("tls: on (certificate /nowhere/member-2.pfx", r.Output);
    }
}
