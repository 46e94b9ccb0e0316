using System.Reflection;
using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// A kernel launched with programmatic stream serialization that does not wait (griddepcontrol.wait) could read its
/// predecessor's output before it exists: these tests tie the PDL kernel list to the kernel sources, which CI has
/// without a GPU.
/// </summary>
public class ProgrammaticLaunchKernelsTests
{
    private static string Source(string module)
    {
        var assembly = typeof(CudaBackend).Assembly;
        using Stream stream = assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + module)
            ?? throw new InvalidOperationException($"{module} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Fact]
    public void Every_listed_kernel_is_defined_in_its_module_and_that_module_waits_before_reading()
    {
        Assert.NotEmpty(ProgrammaticLaunchKernels.ByModule);
        foreach (var (module, kernels) in ProgrammaticLaunchKernels.ByModule)
        {
            string source = Source(module);
            Assert.True(source.Contains("HEARTH_PDL_WAIT()", StringComparison.Ordinal) || source.Contains("HEARTH_PDL_ENTRY()", StringComparison.Ordinal)
                || source.Contains("HEARTH_PDL_ENTRY_OF(", StringComparison.Ordinal), $"{module} never waits");
            foreach (string kernel in kernels)
            {
                // Literal names, or the ones a macro pastes together from a head-dim suffix (qk_norm_rope_warp_d##D).
                string pasted = Regex.Replace(kernel, @"_d\d+$", "_d##D");
                bool defined = Regex.IsMatch(source, $@"\b{Regex.Escape(kernel)}\b") || source.Contains(pasted, StringComparison.Ordinal);
                Assert.True(defined, $"{kernel} is listed for PDL but not defined in {module}");
            }
        }
    }

    [Fact]
    public void Each_kernel_entry_of_a_listed_module_body_waits_before_its_first_statement_that_reads()
    {
        // The simple kernels wait first: their entry's opening lines must be the wait (then the trigger).
        foreach (var (module, name) in new[] { ("norm.cu", "rms_norm_bf16"), ("norm.cu", "add_rms_norm_bf16x8"), ("elementwise.cu", "silu_mul_bf16x8"),
            ("elementwise.cu", "embedding_bf16") })
        {
            string source = Source(module);
            int at = source.IndexOf($"void {name}(", StringComparison.Ordinal);
            Assert.True(at >= 0, name);
            string body = source[source.IndexOf('{', at)..];
            string firstStatement = body[1..].TrimStart().Split('\n')[0].Trim();
            Assert.Matches(@"^HEARTH_PDL_ENTRY(\(\)|_OF\(HEARTH_PDL_EARLY_[A-Z]+\));$", firstStatement);
        }
    }

    [Fact]
    public void The_entry_macro_waits_whichever_order_the_early_trigger_switch_picks()
    {
        string common = Source("common.cu");
        string entry = common.Split('\n').Single(l => l.StartsWith("#define HEARTH_PDL_ENTRY_OF(GROUP)", StringComparison.Ordinal));
        Assert.Contains("HEARTH_PDL_EARLY_LAUNCH_IF(GROUP); HEARTH_PDL_WAIT(); HEARTH_PDL_LATE_LAUNCH_IF(GROUP);", entry, StringComparison.Ordinal);
        // The two launch macros of one group are exact complements: exactly one of them triggers.
        Assert.Contains("if ((HEARTH_PDL_EARLY_TRIGGER) & (GROUP)) HEARTH_PDL_LAUNCH();", common, StringComparison.Ordinal);
        Assert.Contains("if (!((HEARTH_PDL_EARLY_TRIGGER) & (GROUP))) HEARTH_PDL_LAUNCH();", common, StringComparison.Ordinal);
        // By default only the row norms trigger first (measured faster); every other group launches its dependents after its wait.
        Assert.Contains("#define HEARTH_PDL_EARLY_TRIGGER 1", common, StringComparison.Ordinal);
        Assert.Contains("#define HEARTH_PDL_EARLY_NORM 1", common, StringComparison.Ordinal);
    }

    [Fact]
    public void The_decode_attention_reads_only_step_metadata_before_its_wait()
    {
        string source = Source("decode_mma.cu");
        int start = source.IndexOf("void decode_mma(", StringComparison.Ordinal);
        int wait = source.IndexOf("HEARTH_PDL_WAIT();", start, StringComparison.Ordinal);
        Assert.True(start >= 0 && wait > start);
        string beforeWait = source[start..wait];
        int body = beforeWait.IndexOf('{');
        string prologue = Regex.Replace(beforeWait[body..], @"//[^\n]*", "");
        // The query and every output are an earlier or later kernel's: none of them before the wait.
        foreach (string name in new[] { "query", "out", "partialOut", "partialMax", "partialSum", "counters" })
            Assert.DoesNotMatch($@"\b{name}\b", prologue);
        Assert.Contains("seqLens[s]", prologue, StringComparison.Ordinal);
        // The caches only in the _cl kernels' early load (session 10), whose newest key is loaded again after the wait.
        Assert.Single(Regex.Matches(prologue, @"\bkeyCache\b"));
        Assert.Contains("if (early && firstRound)", prologue, StringComparison.Ordinal);
        string afterWait = source[wait..source.IndexOf("unsigned int q[QW];", wait, StringComparison.Ordinal)];
        Assert.Contains("if (early && firstRound && begin + count == seqLen", afterWait, StringComparison.Ordinal);
        Assert.Contains("count - 1 - warp * 16, k0, k1, v0, v1, v2, v3);", afterWait, StringComparison.Ordinal);
    }

    [Fact]
    public void The_wait_and_trigger_compile_to_nothing_below_sm_90()
    {
        string common = Source("common.cu");
        int guard = common.IndexOf("#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900", StringComparison.Ordinal);
        int wait = common.IndexOf("#define HEARTH_PDL_WAIT() asm volatile(\"griddepcontrol.wait;\"", StringComparison.Ordinal);
        int fallback = common.IndexOf("#define HEARTH_PDL_WAIT() do { } while (0)", StringComparison.Ordinal);
        Assert.True(guard >= 0 && wait > guard && fallback > wait, "griddepcontrol must sit behind the sm_90 guard with an empty fallback");
    }

    [Theory]
    [InlineData(9, null, true)]
    [InlineData(10, "1", true)]
    [InlineData(9, "0", false)]
    [InlineData(8, null, false)]
    [InlineData(8, "1", false)]
    public void Pdl_is_on_from_sm_90_unless_switched_off(int computeMajor, string? environmentValue, bool expected) =>
        Assert.Equal(expected, ProgrammaticLaunchKernels.IsEnabled(computeMajor, environmentValue));

    [Fact]
    public void The_launch_structs_have_cuda_h_sizes()
    {
        var driver = typeof(CudaBackend).Assembly.GetType("Hearth.Backends.Cuda.Interop.CuDriver", throwOnError: true)!;
        Type config = driver.GetNestedType("LaunchConfig", BindingFlags.Public)!, attribute = driver.GetNestedType("LaunchAttribute", BindingFlags.Public)!;
        Assert.Equal(56, System.Runtime.InteropServices.Marshal.SizeOf(config));
        Assert.Equal(72, System.Runtime.InteropServices.Marshal.SizeOf(attribute));
        Assert.Equal(32, (int)System.Runtime.InteropServices.Marshal.OffsetOf(config, "Stream"));
        Assert.Equal(48, (int)System.Runtime.InteropServices.Marshal.OffsetOf(config, "NumAttributes"));
    }
}
