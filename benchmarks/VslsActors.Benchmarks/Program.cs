using BenchmarkDotNet.Running;

// Runs the benchmarks chosen on the command line, e.g.
//   dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- --filter '*Policy*'
// See docs/benchmarks.md for the figures and the machine they were measured on.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
