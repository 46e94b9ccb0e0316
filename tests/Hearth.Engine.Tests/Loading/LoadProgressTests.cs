using Hearth.Engine.Loading;

namespace Hearth.Engine.Tests.Loading;

public class LoadProgressTests
{
    [Fact]
    public void Without_a_terminal_it_prints_a_line_per_quarter_then_the_totals_and_gpu_memory()
    {
        var writer = new StringWriter();
        const long GiB = 1L << 30;
        var progress = new LoadProgress(100 * GiB, writer, interactive: false, () => (30 * GiB, 80 * GiB));
        for (int i = 0; i < 400; i++) progress.OnUpload(GiB / 4);   // 400 tensors, 100 GiB
        progress.Complete();
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("loading weights: 25.00 GiB of 100.00 GiB (25%), 100 tensors", lines[0]);
        Assert.Contains("(50%)", lines[1]);
        Assert.Contains("(75%)", lines[2]);
        Assert.StartsWith("loaded 100.00 GiB in 400 tensors in ", lines[3]);
        Assert.EndsWith("GPU memory used 50.00 of 80.00 GiB", lines[3].TrimEnd());
        Assert.Equal(400, progress.UploadedTensors);
    }

    [Fact]
    public void On_a_terminal_it_redraws_one_line_in_place_at_most_four_times_a_second()
    {
        var writer = new StringWriter();
        var progress = new LoadProgress(1000, writer, interactive: true);
        for (int i = 0; i < 1000; i++) progress.OnUpload(1);
        progress.Complete();
        string text = writer.ToString();
        Assert.DoesNotContain('\n', text.TrimEnd());   // only the closing line ends with a newline
        Assert.True(text.Count(c => c == '\r') <= 3, text);
        Assert.Contains("loaded 0.00 GiB in 1000 tensors", text);
    }

    [Fact]
    public void Weight_file_bytes_count_safetensors_in_a_folder()
    {
        var folder = Directory.CreateTempSubdirectory("hearth-progress");
        try
        {
            File.WriteAllBytes(Path.Combine(folder.FullName, "a.safetensors"), new byte[300]);
            File.WriteAllBytes(Path.Combine(folder.FullName, "b.safetensors"), new byte[200]);
            File.WriteAllBytes(Path.Combine(folder.FullName, "config.json"), new byte[50]);
            Assert.Equal(500, LoadProgress.WeightFileBytes(folder.FullName));
            Assert.Equal(0, LoadProgress.WeightFileBytes(Path.Combine(folder.FullName, "missing")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
