using System.Reflection;
using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>Modules share device code through embedded .cuh headers that KernelCompiler inlines before NVRTC sees them.</summary>
public class KernelIncludeTests
{
    [Fact]
    public void An_include_line_becomes_the_header_once_with_line_markers_back_into_the_module()
    {
        string module = "a\n#include \"h.cuh\"\nb\n  #include \"h.cuh\"  \nc";
        string expanded = KernelCompiler.ExpandIncludes(module, "m.cu", name => name == "h.cuh" ? "H1\nH2" : throw new InvalidOperationException(name));
        Assert.Equal("a\n#line 1 \"h.cuh\"\nH1\nH2\n#line 3 \"m.cu\"\nb\n#line 5 \"m.cu\"\nc", expanded);
    }

    [Fact]
    public void Other_lines_and_system_includes_are_left_alone()
    {
        string module = "#include <cuda_fp16.h>\n// #include \"x.cuh\" in a comment\nint x;";
        Assert.Equal(module, KernelCompiler.ExpandIncludes(module, "m.cu", _ => throw new InvalidOperationException()));
    }

    [Fact]
    public void Every_header_a_kernel_module_includes_is_embedded()
    {
        var assembly = typeof(CudaBackend).Assembly;
        const string Prefix = "Hearth.Cuda.Kernels.";
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).ToHashSet();
        Assert.Contains(Prefix + "decode_mma.cuh", names);
        foreach (string name in names.Where(n => n.EndsWith(".cu", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            string source = reader.ReadToEnd();
            // Reading every include through the embedded resources throws if one is missing.
            string expanded = KernelCompiler.ExpandIncludes(source, name, header =>
            {
                using var stream = assembly.GetManifestResourceStream(Prefix + header) ?? throw new InvalidOperationException($"{name} includes {header}, which is not embedded");
                return new StreamReader(stream).ReadToEnd();
            });
            Assert.DoesNotContain("#include \"", expanded, StringComparison.Ordinal);
        }
    }
}
