using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>Theory data: every SIMD level (each forced on this machine) and every weight dtype.</summary>
public static class CpuCases
{
    public static readonly CpuSimdLevel[] Levels =
        [CpuSimdLevel.Scalar, CpuSimdLevel.Vector128, CpuSimdLevel.Vector256, CpuSimdLevel.Vector512];

    public static readonly DType[] WeightTypes = [DType.F32, DType.BF16, DType.F16];

    public static TheoryData<CpuSimdLevel> AllLevels()
    {
        var data = new TheoryData<CpuSimdLevel>();
        foreach (var level in Levels) data.Add(level);
        return data;
    }

    public static TheoryData<CpuSimdLevel, DType> LevelsAndWeightTypes()
    {
        var data = new TheoryData<CpuSimdLevel, DType>();
        foreach (var level in Levels)
            foreach (var dtype in WeightTypes) data.Add(level, dtype);
        return data;
    }

    /// <summary>|actual − expected| within a relative tolerance of the magnitude the result was summed from.</summary>
    public static void Near(double expected, float actual, double magnitude, double relative, string where)
    {
        double error = Math.Abs(actual - expected);
        double allowed = relative * Math.Max(magnitude, 1e-3);
        if (!(error <= allowed))
            Assert.Fail($"{where}: expected {expected:G9}, got {actual:G9} (error {error:G3} > {allowed:G3})");
    }
}
