namespace Hearth.Engine.Benchmarking;

/// <summary>
/// The aggregate decode rate of a batch over the steps where every one of its sequences decodes: from the last
/// sequence's first token (before it, some were still prefilling) to the first sequence's last token (after it, the
/// batch shrinks while the steps still cost about as much). Counting the ramps as well understates the rate, the more
/// the longer they are: with prompts admitted one a step, a batch of 32 ramps over 32 steps at each end.
/// </summary>
public static class FullBatchRate
{
    /// <param name="firstTokenTimes">Each sequence's first-token time, seconds on one clock.</param>
    /// <param name="lastTokenTimes">Each sequence's last-token time.</param>
    /// <param name="laterTokenTimes">The time of every token after a sequence's first, all sequences together.</param>
    /// <returns>Tokens per second inside that window, or null when no step had the whole batch decoding.</returns>
    public static double? TokensPerSecond(ReadOnlySpan<double> firstTokenTimes, ReadOnlySpan<double> lastTokenTimes, IReadOnlyList<double> laterTokenTimes)
    {
        if (firstTokenTimes.IsEmpty || firstTokenTimes.Length != lastTokenTimes.Length) throw new ArgumentException("one first and one last token time per sequence");
        double start = double.MinValue, end = double.MaxValue;
        foreach (double t in firstTokenTimes) start = Math.Max(start, t);
        foreach (double t in lastTokenTimes) end = Math.Min(end, t);
        if (end <= start) return null;
        int counted = 0;
        foreach (double t in laterTokenTimes)
            if (t > start && t <= end) counted++;
        return counted == 0 ? null : counted / (end - start);
    }
}
