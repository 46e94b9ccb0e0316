using Hearth.Models.Synthetic;

namespace Hearth.Models.Tests.Synthetic;

/// <summary>A theory that reports itself skipped, with the command to run, until the GPU goldens are committed.</summary>
public sealed class ParityGoldensTheoryAttribute : TheoryAttribute
{
    public ParityGoldensTheoryAttribute()
    {
        var missing = SyntheticModels.Parity.Where(s => !ParityGolden.Exists(s.Name)).Select(s => s.Name).ToList();
        if (missing.Count > 0)
            Skip = $"parity goldens missing ({string.Join(", ", missing)}): run `bash tools/gpu/parity_goldens.sh $OUT` on the GPU machine and commit $OUT/parity/*.json to tests/goldens/parity/";
    }
}
