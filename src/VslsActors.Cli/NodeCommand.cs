using System.CommandLine;
using VslsActors.Node;

namespace VslsActors.Cli;

/// <summary><c>vsls node</c>: runs one member until SIGTERM or Ctrl+C.</summary>
internal static class NodeCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var member = new Option<string>("--member") { Description = "This member's name, one of the topology's members [VSLS_MEMBER; default member-1]", HelpName = "name" };
        var host = new Option<string>("--host") { Description = "Address to bind and advertise [VSLS_HOST; default 127.0.0.1]", HelpName = "address" };
        var port = new Option<int?>("--port") { Description = $"Akka.Remote port [VSLS_PORT; default {VslsNodeOptions.DefaultPort}]", HelpName = "port" };
        var seeds = new Option<string>("--seeds") { Description = "Seed nodes, host:port[,host:port...] [VSLS_SEEDS; default: this member]", HelpName = "list" };
        var db = new Option<string>("--db") { Description = "SQLite file path, or postgres:<connection string> [VSLS_DB; default vsls.db]", HelpName = "database" };
        var topology = new Option<string>("--topology") { Description = "Topology file [VSLS_TOPOLOGY; default hocon/topology.conf]", HelpName = "file" };
        var config = new Option<string>("--config") { Description = "Extra HOCON file over the shipped defaults [VSLS_CONFIG]", HelpName = "file" };
        var ingress = new Option<string>("--ingress") { Description = $"gRPC ingress endpoint (HTTP/2, no TLS), host:port or off [VSLS_INGRESS; default 127.0.0.1:{VslsActors.Node.Web.IngressOptions.DefaultPort}]", HelpName = "endpoint" };
        var maxInFlight = new Option<int?>("--ingress-max-in-flight") { Description = $"Batches one ingress stream may have on this member at a time [VSLS_INGRESS_MAX_IN_FLIGHT; default {VslsActors.Node.Web.IngressOptions.DefaultMaxInFlight}]", HelpName = "batches" };

        var api = new Option<string>("--api") { Description = $"Management API endpoint (HTTP/1.1, no TLS), host:port or off [VSLS_API; default 127.0.0.1:{VslsActors.Node.Web.ManagementOptions.DefaultPort}]", HelpName = "endpoint" };
        var apiToken = new Option<string>("--api-token") { Description = "API bearer tokens, name:secret[,name:secret...] (a bare secret is named 'api'); none = API disabled [VSLS_API_TOKEN, VSLS_API_TOKENS]", HelpName = "tokens" };
        var apiTokenFile = new Option<string>("--api-token-file") { Description = "File of API tokens, one name:secret a line [VSLS_API_TOKEN_FILE]", HelpName = "file" };

        // Member-to-member TLS (docs/tls.md). No --tls-password: a command line is visible in the process list.
        var tlsCert = new Option<string>("--tls-cert") { Description = "This member's certificate for Akka.Remote TLS: PKCS#12 (.pfx, with its key) or PEM; TLS is on with it [VSLS_TLS_CERT]", HelpName = "file" };
        var tlsKey = new Option<string>("--tls-key") { Description = "PEM private key of a PEM --tls-cert, when not in the same file [VSLS_TLS_KEY]", HelpName = "file" };
        var tlsPasswordFile = new Option<string>("--tls-password-file") { Description = "File whose first line is the password of the .pfx or encrypted PEM key [VSLS_TLS_PASSWORD_FILE; or VSLS_TLS_PASSWORD]", HelpName = "file" };
        var tlsCa = new Option<string>("--tls-ca") { Description = "PEM file of the CA certificate(s): only members with a certificate they issued may connect [VSLS_TLS_CA]", HelpName = "file" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Resolve options and VSLS_* variables, print the settings this member would run with, and exit (reads no file, binds nothing: checks a deployment's command line)" };

        var command = new Command("node", "Run one cluster member until SIGTERM or Ctrl+C (then leave gracefully: its VSs hand over to their Standby).")
        {
            member, host, port, seeds, db, topology, config, ingress, maxInFlight, api, apiToken, apiTokenFile,
            tlsCert, tlsKey, tlsPasswordFile, tlsCa, dryRun,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var arguments = new NodeArguments(
                parse.GetValue(member), parse.GetValue(host), parse.GetValue(port), parse.GetValue(seeds),
                parse.GetValue(db), parse.GetValue(topology), parse.GetValue(config), parse.GetValue(ingress), parse.GetValue(maxInFlight),
                parse.GetValue(api), parse.GetValue(apiToken), parse.GetValue(apiTokenFile),
                parse.GetValue(tlsCert), parse.GetValue(tlsKey), parse.GetValue(tlsPasswordFile), parse.GetValue(tlsCa));
            var options = VslsNodeOptions.Resolve(VslsNodeOptions.ProcessEnvironment(), arguments);
            if (parse.GetValue(dryRun))
            {
                await output.WriteAsync(options.Describe()).ConfigureAwait(false);
                return 0;
            }
            return await NodeHost.RunAsync(options, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
