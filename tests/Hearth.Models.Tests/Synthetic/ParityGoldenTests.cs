using Hearth.Models.Synthetic;

namespace Hearth.Models.Tests.Synthetic;

/// <summary>The HF goldens were made from exactly the weights and config.json that the C# side regenerates.</summary>
public class ParityGoldenTests
{
    public static TheoryData<string> ParityNames() => new(SyntheticModels.Parity.Select(s => s.Name));

    [ParityGoldensTheory]
    [MemberData(nameof(ParityNames))]
    public void Golden_was_made_from_the_same_config_and_weights(string name)
    {
        var shape = SyntheticModels.Find(name)!;
        var golden = ParityGolden.Load(name);
        Assert.Equal(name, golden.ShapeName);
        Assert.Equal(shape.ToConfigJson(), golden.ConfigJson);
        Assert.Equal($"0x{shape.Seed:x16}", golden.Root.GetProperty("shape").GetProperty("seed").GetString());

        var tensors = golden.Root.GetProperty("tensors").EnumerateArray().ToList();
        var expected = shape.Tensors().ToList();
        Assert.Equal(expected.Select(t => t.Name), tensors.Select(t => t.GetProperty("name").GetString()));
        foreach (var (spec, recorded) in expected.Zip(tensors))
        {
            var first = new ushort[8];
            RandomWeights.FillBf16(shape.Seed, spec.Name, spec.Scale, first);
            Assert.Equal(PrngVectors.Bf16(recorded.GetProperty("first8_bf16")), first);
        }
    }

    [ParityGoldensTheory]
    [MemberData(nameof(ParityNames))]
    public void Golden_records_are_complete_and_consistent(string name)
    {
        var shape = SyntheticModels.Find(name)!;
        var golden = ParityGolden.Load(name);
        Assert.Equal(3, golden.Prompts.Length);
        foreach (var p in golden.Prompts)
        {
            Assert.Equal(p.PromptIds.Length, p.PromptTop.Length);
            Assert.All(p.PromptTop, t => Assert.Equal(10, t.Ids.Length));
            Assert.Equal(16, p.GreedyIds.Length);
            for (int step = 0; step < 16; step++)
                Assert.Equal(p.GreedyIds[step], p.GreedyTop[step].Ids[0]);
            Assert.All(p.PromptTop.Concat(p.GreedyTop), t => Assert.True(t.Logprobs.Zip(t.Logprobs.Skip(1)).All(x => x.First >= x.Second)));
            Assert.All(p.PromptIds.Concat(p.GreedyIds), id => Assert.InRange(id, 0, shape.VocabSize - 1));
        }
        if (shape.IsYarn)
            Assert.Contains(golden.Prompts, p => p.PromptIds.Length + 16 > shape.YarnOriginalMaxPositionEmbeddings);
    }
}
