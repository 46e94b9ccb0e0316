using System.Globalization;

namespace Hearth.Cuda.Parity;

/// <summary>Prints one line per check and counts passes and failures.</summary>
internal sealed class ParityReport
{
    public int NumPassed { get; private set; }

    public int NumFailed { get; private set; }

    /// <summary>
    /// Passes when every element satisfies |actual − expected| ≤ atolScale·max|expected| + rtol·|expected|.
    /// The absolute part is relative to the tensor's scale so that one tolerance fits any magnitude.
    /// </summary>
    public bool Compare(string name, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atolScale)
    {
        if (expected.Length != actual.Length)
            return Record(false, name, $"length {actual.Length} != expected {expected.Length}");
        double maxExpected = 0;
        foreach (float e in expected) maxExpected = Math.Max(maxExpected, Math.Abs((double)e));
        double atol = atolScale * Math.Max(maxExpected, 1e-30);
        double maxAbs = 0, worstRatio = 0;
        int worst = -1, numBad = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(err)) err = double.PositiveInfinity;
            double ratio = err == 0 ? 0 : err / (atol + rtol * Math.Abs((double)expected[i]));
            if (ratio > 1) numBad++;
            if (err > maxAbs) maxAbs = err;
            if (ratio > worstRatio || worst < 0) { worstRatio = ratio; worst = i; }
        }
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"n={expected.Length} max|ref|={maxExpected:G4} max_abs_err={maxAbs:G3} worst/tol={worstRatio:F3}");
        if (numBad > 0 && worst >= 0)
            detail += string.Create(CultureInfo.InvariantCulture, $" bad={numBad} e.g. [{worst}] ref={expected[worst]:G6} got={actual[worst]:G6}");
        return Record(numBad == 0, name, detail);
    }

    public bool Record(bool passed, string name, string detail)
    {
        if (passed) NumPassed++; else NumFailed++;
        Console.WriteLine($"{(passed ? "PASS" : "FAIL")} {name}: {detail}");
        return passed;
    }

    public void Fail(string name, Exception e) =>
        Record(false, name, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
}
