using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// The CPU side of the L2 prefetch (session 10): the kernel argument's layout, the split of the spans over a grid's
/// blocks and threads (the C# mirror of l2_prefetch_share), the prefetch plan of a linear's regions and the switches.
/// </summary>
public class L2PrefetchTests
{
    private static string Source(string name)
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + name)
            ?? throw new InvalidOperationException($"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Fact]
    public void The_kernel_argument_has_the_device_struct_layout()
    {
        Assert.Equal(224, L2PrefetchSpans.SizeBytes);
        Assert.Equal(L2PrefetchSpans.SizeBytes, Marshal.SizeOf<L2PrefetchSpans>());
        Assert.Equal(0, (int)Marshal.OffsetOf<L2PrefetchSpans>("_address"));
        Assert.Equal(64, (int)Marshal.OffsetOf<L2PrefetchSpans>("_rowBytes"));
        Assert.Equal(128, (int)Marshal.OffsetOf<L2PrefetchSpans>("_stride"));
        Assert.Equal(192, (int)Marshal.OffsetOf<L2PrefetchSpans>("_rows"));
        string header = Source("l2_prefetch.cuh");
        Assert.Contains($"#define L2P_MAX_SPANS {L2PrefetchSpans.MaxSpans}", header, StringComparison.Ordinal);
        var fields = Regex.Matches(header, @"unsigned (?:long long|int) (\w+)\[L2P_MAX_SPANS\];").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["address", "rowBytes", "stride", "rows"], fields);
    }

    [Fact]
    public void Try_add_rounds_sizes_down_to_16_bytes_and_refuses_misaligned_or_too_many_spans()
    {
        var spans = new L2PrefetchSpans();
        Assert.True(spans.TryAdd(0x1000, 100, 0, 1));
        Assert.Equal(96, spans.TotalBytes);
        Assert.True(spans.TryAdd(0x2000, 8, 0, 1));   // rounds to nothing: skipped
        Assert.Equal(1, spans.Count);
        Assert.False(spans.TryAdd(0x3008, 64, 0, 1));
        Assert.False(spans.TryAdd(0x3000, 64, 40, 3));   // stride not a multiple of 16
        Assert.False(spans.TryAdd(0x3000, 64, 32, 3));   // rows overlap
        Assert.True(spans.TryAdd(0x3000, 64, 256, 3));
        Assert.Equal(96 + 192, spans.TotalBytes);
        for (int i = 2; i < L2PrefetchSpans.MaxSpans; i++) Assert.True(spans.TryAdd(0x10000 * (ulong)i, 32, 0, 1));
        Assert.False(spans.TryAdd(0x900000, 32, 0, 1));
        Assert.Equal(L2PrefetchSpans.MaxSpans, spans.Count);
    }

    [Theory]
    [InlineData(16L, 1L)]
    [InlineData(4096L, 7L)]
    [InlineData(26_214_400L, 128L)]
    [InlineData(8_388_608L, 9L)]
    [InlineData(48L, 64L)]
    public void Block_shares_tile_the_bytes_in_order_on_16_byte_boundaries(long total, long blocks)
    {
        long expectedBegin = 0;
        for (long b = 0; b < blocks; b++)
        {
            var (begin, end) = L2PrefetchSpans.ShareOf(total, blocks, b);
            Assert.Equal(expectedBegin, begin);
            Assert.True(end >= begin);
            Assert.Equal(0, begin % 16);
            Assert.True(end % 16 == 0 || end == total);
            expectedBegin = end;
        }
        Assert.Equal(total, expectedBegin);
    }

    public static TheoryData<int, int, long> Grids => new()
    {
        { 1, 640, 16384 },     // a batch-1 norm row block alone, bulk prefetch
        { 9, 640, 16384 },     // with 8 prefetch-only blocks
        { 128, 128, 16384 },   // the decode attention's blocks
        { 14, 128, 128 },      // q/k norm + RoPE, line prefetches (sm_80)
        { 3, 64, 128 },
    };

    [Theory]
    [MemberData(nameof(Grids))]
    public void Every_byte_of_every_span_is_prefetched_exactly_once_over_the_grid(int blocks, int threads, long pieceBytes)
    {
        var spans = new L2PrefetchSpans();
        Assert.True(spans.TryAdd(0x10000, 3 * 2560, 10240, 37));     // a prefix of each warp's run of 37 runs
        Assert.True(spans.TryAdd(0x200000, 640, 2560, 40));
        Assert.True(spans.TryAdd(0x400000, 70_000, 0, 1));           // a contiguous range (rounded to 69,984)
        Assert.True(spans.TryAdd(0x500000, 16, 48, 5));
        var expected = new List<(ulong, ulong)>();
        for (int i = 0; i < spans.Count; i++)
            for (uint r = 0; r < spans.RowsOf(i); r++)
                expected.Add((spans.AddressOf(i) + r * spans.StrideOf(i), spans.AddressOf(i) + r * spans.StrideOf(i) + spans.RowBytesOf(i)));
        var pieces = new List<(ulong Start, ulong End)>();
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < threads; t++)
                spans.ForEachPiece(blocks, b, threads, t, pieceBytes, (address, bytes) =>
                {
                    Assert.InRange(bytes, 1, pieceBytes);
                    Assert.Equal(0UL, address % 16);
                    Assert.Equal(0, bytes % 16);
                    pieces.Add((address, address + (ulong)bytes));
                });
        Assert.Equal(Merge(expected), Merge(pieces));
        Assert.Equal(spans.TotalBytes, pieces.Sum(p => (long)(p.End - p.Start)));   // no byte twice
    }

    private static List<(ulong, ulong)> Merge(List<(ulong Start, ulong End)> ranges)
    {
        var merged = new List<(ulong Start, ulong End)>();
        foreach (var r in ranges.OrderBy(r => r.Start))
            if (merged.Count > 0 && merged[^1].End >= r.Start) merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, r.End));
            else merged.Add(r);
        return merged;
    }

    [Fact]
    public void Threads_of_a_block_share_its_pieces_evenly()
    {
        var spans = new L2PrefetchSpans();
        Assert.True(spans.TryAdd(0x100000, 26L << 20, 0, 1));   // a 14B fp8 o, whole
        var perThread = new int[128];
        for (int t = 0; t < 128; t++) spans.ForEachPiece(128, 5, 128, t, 16384, (_, _) => perThread[t]++);
        Assert.True(perThread.Max() - perThread.Min() <= 1, $"{perThread.Min()}..{perThread.Max()} pieces a thread");
        Assert.Equal(13, perThread.Sum());   // 208 KiB: 13 pieces of 16 KiB, one each for 13 threads

        // Strided rows of one piece each: the rows go round the threads.
        var strided = new L2PrefetchSpans();
        Assert.True(strided.TryAdd(0x100000, 4096, 10240, 2112));
        var rowsPerThread = new int[640];
        for (int t = 0; t < 640; t++) strided.ForEachPiece(1, 0, 640, t, 16384, (_, _) => rowsPerThread[t]++);
        Assert.Equal(2112, rowsPerThread.Sum());
        Assert.True(rowsPerThread.Max() - rowsPerThread.Min() <= 1);
    }

    [Fact]
    public void A_weight_within_the_cap_goes_whole_in_contiguous_spans()
    {
        L2WeightRegion[] regions = [new(0x100000, 81920, 320, 0), L2WeightRegion.Contiguous(0x9000000, 6400)];   // 14B fp8 o and its scales
        var spans = L2PrefetchPlan.Build(regions, 32L << 20, 528, 4);
        Assert.Equal(2, spans.Count);
        Assert.Equal(81920L * 320 + 6400, spans.TotalBytes);
        Assert.Equal(1u, spans.RowsOf(0));
        Assert.Equal(0x100000UL, spans.AddressOf(0));
    }

    [Fact]
    public void A_capped_weight_takes_each_warp_run_prefix_of_the_first_wave_tiles()
    {
        // int4 gate|up at 14B: two parts of 1,088 tiles of 40 KiB data and 2,560 bytes of params each.
        L2WeightRegion[] regions =
        [
            new(0x1000000, 40960, 1088, 0), new(0x3000000, 2560, 1088, 0),
            new(0x5000000, 40960, 1088, 1088), new(0x7000000, 2560, 1088, 1088),
        ];
        long cap = 8L << 20;
        var spans = L2PrefetchPlan.Build(regions, cap, 528, 4);
        Assert.Equal(2, spans.Count);   // the first wave is all in the gate part
        Assert.True(spans.TotalBytes <= cap && spans.TotalBytes > cap * 9 / 10, $"{spans.TotalBytes} of {cap}");
        Assert.Equal(528u * 4, spans.RowsOf(0));
        Assert.Equal(10240UL, spans.StrideOf(0));
        Assert.Equal(640UL, spans.StrideOf(1));
        Assert.Equal(0UL, spans.RowBytesOf(0) % 16);
        Assert.True(spans.RowBytesOf(0) < spans.StrideOf(0));
    }

    [Fact]
    public void Contiguous_regions_take_their_share_of_the_cap_first_and_no_tile_past_the_wave()
    {
        L2WeightRegion[] regions = [L2WeightRegion.Contiguous(0x100000, 1 << 20), new(0x1000000, 4096, 100, 0), new(0x2000000, 4096, 100, 100)];
        var spans = L2PrefetchPlan.Build(regions, (1 << 20) + 102_400, 150, 4);
        Assert.Equal(3, spans.Count);
        Assert.Equal(1u << 20, (uint)spans.RowBytesOf(0));
        Assert.Equal(400u, spans.RowsOf(1));
        Assert.Equal(200u, spans.RowsOf(2));   // 50 of the second part's tiles are in the first wave
        Assert.True(spans.TotalBytes <= (1 << 20) + 102_400);
        Assert.True(L2PrefetchPlan.Build(regions, 8, 150, 4).IsEmpty);
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData("", 3)]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData(" 6 ", 6)]
    [InlineData("7", 7)]
    public void The_site_mask_parses(string? value, int expected) =>
        Assert.Equal((L2PrefetchSites)expected, L2PrefetchOptions.ParseSites(value, L2PrefetchSites.Attention | L2PrefetchSites.Norms));

    [Theory]
    [InlineData("8")]
    [InlineData("-1")]
    [InlineData("on")]
    [InlineData("1.5")]
    public void A_bad_site_mask_is_a_one_line_error(string value)
    {
        var e = Assert.Throws<HearthException>(() => L2PrefetchOptions.ParseSites(value, L2PrefetchSites.None));
        Assert.Contains("HEARTH_CUDA_L2_PREFETCH", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Sizes_and_counts_parse_with_defaults_and_bounds()
    {
        Assert.Equal(8L << 20, L2PrefetchOptions.ParseMegabytes(null, 8, "X"));
        Assert.Equal(3L << 19, L2PrefetchOptions.ParseMegabytes("1.5", 8, "X"));
        Assert.Equal(0, L2PrefetchOptions.ParseMegabytes("0", 8, "X"));
        Assert.Throws<HearthException>(() => L2PrefetchOptions.ParseMegabytes("2000", 8, "X"));
        Assert.Throws<HearthException>(() => L2PrefetchOptions.ParseMegabytes("-1", 8, "X"));
        Assert.Equal(8, L2PrefetchOptions.ParseCount(null, 8, 0, 256, "X"));
        Assert.Equal(32, L2PrefetchOptions.ParseCount("32", 8, 0, 256, "X"));
        Assert.Throws<HearthException>(() => L2PrefetchOptions.ParseCount("257", 8, 0, 256, "X"));
    }

    [Fact]
    public void The_prefetching_kernels_issue_the_prefetch_before_their_wait()
    {
        string norm = Source("norm.cu");
        foreach (string kernel in new[] { "rms_norm_l2p_bf16x8", "add_rms_norm_l2p_bf16x8", "qk_norm_rope_kv_l2p_warp_d##D" })
        {
            int at = norm.IndexOf($"void __launch_bounds__(32 * QR_WARPS) {kernel}(", StringComparison.Ordinal);
            if (at < 0) at = norm.IndexOf($"void {kernel}(", StringComparison.Ordinal);
            Assert.True(at >= 0, kernel);
            string body = norm[norm.IndexOf('{', at)..];
            int prefetch = body.IndexOf("l2_prefetch_share(prefetch);", StringComparison.Ordinal);
            int wait = body.IndexOf("HEARTH_PDL_WAIT();", StringComparison.Ordinal);
            int work = body.IndexOf("(residual, input", StringComparison.Ordinal) is int r && r >= 0 ? r : body.IndexOf("<PER_LANE>(qkv", StringComparison.Ordinal);
            if (work < 0) work = body.IndexOf("(nullptr, input", StringComparison.Ordinal);
            Assert.True(prefetch > 0 && wait > prefetch && work > wait, $"{kernel}: prefetch {prefetch}, wait {wait}, work {work}");
        }
        string mma = Source("decode_mma.cu");
        Assert.Contains("#include \"l2_prefetch.cuh\"", mma, StringComparison.Ordinal);
        Assert.Matches(@"int\* counters, L2PrefetchSpans prefetch\) \\\s*\{ \\\s*L2P_ATTENTION_BEFORE\(prefetch\); \\\s*decode_mma<D, FP8>\(", mma);
        Assert.Matches(@"partialSum, counters\); \\\s*L2P_ATTENTION_AFTER\(prefetch\); \\\s*\}", mma);
        string header = Source("l2_prefetch.cuh");
        Assert.Matches(@"#ifdef HEARTH_L2P_ATTENTION_AT_END\s+#define L2P_ATTENTION_BEFORE\(SPANS\) do \{ \} while \(0\)\s+#define L2P_ATTENTION_AFTER\(SPANS\) l2_prefetch_share\(SPANS\)\s+#else\s+#define L2P_ATTENTION_BEFORE\(SPANS\) l2_prefetch_share\(SPANS\)", header);
    }
}
