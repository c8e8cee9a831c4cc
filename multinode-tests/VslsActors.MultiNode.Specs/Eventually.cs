using VslsActors.MultiNode.Harness;

namespace VslsActors.MultiNode.Specs;

/// <summary>Waits on a condition (never a fixed sleep), so a spec holds on a slow, loaded machine.</summary>
internal static class Eventually
{
    /// <summary>
    /// Polls <paramref name="condition"/> until it gives null (met); otherwise its text says why not,
    /// and is the failure message once <paramref name="timeout"/> passed.
    /// </summary>
    public static async Task Until(Func<Task<string?>> condition, TimeSpan timeout, TimeSpan? poll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string? why;
            try
            {
                why = await condition().ConfigureAwait(false);
            }
            catch (MultiNodeException e)
            {
                why = e.Message;
            }
            if (why is null)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not within {timeout.TotalSeconds:0} s: {why}");
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(250)).ConfigureAwait(false);
        }
    }

    /// <summary>Union of two "synced at" snapshots (a connection synced at either time must survive).</summary>
    public static IReadOnlyDictionary<int, IReadOnlyCollection<string>> Union(
        IReadOnlyDictionary<int, IReadOnlyCollection<string>> a, IReadOnlyDictionary<int, IReadOnlyCollection<string>> b) =>
        a.Keys.Union(b.Keys).ToDictionary(vs => vs, vs => (IReadOnlyCollection<string>)
            (a.TryGetValue(vs, out var x) ? x : []).Union(b.TryGetValue(vs, out var y) ? y : []).ToArray());
}
