using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The GPU greedy pick, split over several blocks a row and with one block a row, against the host rule: the first
/// index of the largest value, NaN never wins, 0 for a row with no number above -inf. Ties are planted in different
/// blocks' chunks and on chunk edges; each case runs three times in a row, since the split kernel's last block resets
/// a counter that the next launch relies on.
/// </summary>
internal static class ArgMaxChecks
{
    public static void Run(CudaBackend cuda, ParityReport report, RandomData random)
    {
        bool saved = cuda.UseSplitArgMax;
        try
        {
            foreach (bool split in new[] { true, false })
            {
                cuda.UseSplitArgMax = split;
                foreach (var (rows, vocab) in new[] { (1, 151936), (5, 151936), (32, 151936), (33, 151936), (100, 4099), (3, 1003), (2, 7), (64, 2048) })
                {
                    string name = $"argmax_rows {(split ? "split" : "one block a row")} {rows} x {vocab}";
                    try { Check(cuda, report, random, rows, vocab, name); }
                    catch (Exception e) when (e is not OutOfMemoryException) { report.Fail(name, e); }
                }
            }
        }
        finally { cuda.UseSplitArgMax = saved; }
    }

    private static void Check(CudaBackend cuda, ParityReport report, RandomData random, int rows, int vocab, string name)
    {
        float[] logits = random.Uniform((long)rows * vocab, -10, 10);
        var (_, chunk) = CudaBackend.ArgMaxSplits(rows, vocab, 132);
        for (int r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab);
            switch (r % 5)
            {
                case 0:   // a tie across chunks: the lower index wins
                    row[Math.Min(vocab - 1, chunk + 3)] = 50;
                    row[vocab / 3] = 50;
                    break;
                case 1:   // the maximum on a chunk's last and the next chunk's first entry
                    row[Math.Min(vocab - 1, chunk)] = 60;
                    row[Math.Min(vocab - 1, chunk - 1)] = 60;
                    break;
                case 2:   // NaNs, one where a maximum would be
                    row[0] = float.NaN;
                    row[vocab - 1] = float.NaN;
                    row[vocab / 2] = 70;
                    row[vocab / 2 + 1] = float.NaN;
                    break;
                case 3:   // everything -inf but the last entry
                    row.Fill(float.NegativeInfinity);
                    row[vocab - 1] = -1e30f;
                    break;
                default:  // no number above -inf: 0
                    row.Fill(float.NegativeInfinity);
                    row[vocab / 2] = float.NaN;
                    break;
            }
        }
        var expected = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            float best = float.NegativeInfinity;
            int index = -1;
            for (int i = 0; i < vocab; i++)
                if (logits[r * vocab + i] > best) { best = logits[r * vocab + i]; index = i; }
            expected[r] = Math.Max(0, index);
        }
        using var logitsBuffer = cuda.Allocate(logits.Length * 4L);
        using var idsBuffer = cuda.Allocate(rows * 4L);
        var logitsTensor = logitsBuffer.AsTensor(DType.F32, new Shape(rows, vocab));
        var idsTensor = idsBuffer.AsTensor(DType.I32, new Shape(rows));
        cuda.CopyToDevice<float>(logits, logitsTensor);
        var ids = new int[rows];
        for (int run = 0; run < 3; run++)
        {
            cuda.ArgMaxRows(logitsTensor, idsTensor);
            cuda.CopyToHost<int>(idsTensor, ids);
            int wrong = Enumerable.Range(0, rows).FirstOrDefault(r => ids[r] != expected[r], -1);
            if (wrong >= 0)
            {
                report.Record(false, name, $"launch {run + 1}: row {wrong} got {ids[wrong]}, expected {expected[wrong]}");
                return;
            }
        }
        report.Record(true, name, $"{rows} rows match, 3 launches");
    }
}
