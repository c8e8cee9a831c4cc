using BenchmarkDotNet.Running;
using VslsActors.Benchmarks;

// Runs the benchmarks chosen on the command line, e.g.
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- --filter '*Policy*'
// or the runtime figures that need databases and restarts (see RuntimeBench):
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- runtime-bench [sqlite|postgres|memory]...
// or established packets through a one-member cluster's shard region (EstablishedBench):
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- established-bench [seconds]
// or ingress throughput, in-process vs over loopback gRPC (see IngressBench):
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- ingress-bench [seconds] [streams]
// or `vsls replay --embedded` of a generated capture against read/decode/dictionary baselines (see ReplayBench):
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- replay-bench [packets] [connections] [burst]
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- replay-bench write FILE [packets] [connections] [burst]   (the capture only, to profile `vsls replay` on it)
// or per-VS isolation: eleven VSs' throughput and p99 with and without a twelfth flooded past its limit (IsolationBench):
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- isolation-bench [seconds] [pps-limit] [factor]
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- overload-bench [seconds]
// See docs/benchmarks.md for the figures and the machine they were measured on.
if (args.Length > 0 && args[0] == "ingress-bench")
    return IngressBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "runtime-bench")
    return RuntimeBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "established-bench")
    return EstablishedBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "isolation-bench")
    return IsolationBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "overload-bench")
    return OverloadBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "replay-bench")
    return await ReplayBench.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
