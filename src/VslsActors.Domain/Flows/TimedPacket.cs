namespace VslsActors.Domain.Flows;

/// <summary>
/// A packet header with the time it was seen (UTC ticks, as every timestamp in the domain), the
/// unit a VS processes. Kept apart from <see cref="PacketHeader"/> so that the policy and state
/// machine code that needs no clock does not carry one.
/// </summary>
public readonly record struct TimedPacket(long Timestamp, PacketHeader Header);
